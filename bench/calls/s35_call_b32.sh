# Session 35, call 1 (nvidia-h200, 1 GPU; timeout_s 600): batch b32-1gpu-new-families, the search's winners for six
# workloads of two model families no run had trained (GPT-NeoX / Pythia and GPT-2 XL, each from its HF config.json),
# predicted on h200-1gpu-node with the model of this commit
# (`python bench/accuracy/generate.py --cases ... --hardware h200-1gpu-node`):
#   auto-py14b-1g-c24-s2048-b32   1.41 s/iter, peak 21.3 GiB, host 18 GiB (mistpipe mb4 ga8, optimizer offloaded)
#   auto-py69b-1g-c78-s2048-b16   3.55 s/iter, peak 70.8 GiB, host 59 GiB (mistpipe mb2 ga8, optimizer 0.75 offloaded)
#   auto-g2xl-1g-c24-s1024-b64    1.80 s/iter, peak 23.0 GiB, host 15 GiB (mistpipe mb4 ga16, optimizer 0.75, 1 of 48 recomputed)
#   auto-py69b-1g-c40-s2048-b16   4.39 s/iter, peak 38.0 GiB, host 84 GiB (mistpipe mb2 ga8, weights 0.5 + optimizer offloaded, 5 of 32 recomputed)
#   auto-g2xl-1g-c40-s1024-b128   2.98 s/iter, peak 38.2 GiB, host 11 GiB (mistpipe mb8 ga16, optimizer 0.5, 4 of 48 recomputed)
#   auto-py14b-1g-c78-s2048-b64   2.11 s/iter, peak 73.8 GiB (stock ZeRO-0 mb16 ga4)
# Every offloaded share takes the gpu_swap path (no CPU Adam op to build); the stock ZeRO-0 plan runs last while
# DeepSpeed's FusedAdam builds in the background from the start.
# Unpack: python bench/accuracy/unpack.py $X/r/b32/<bundle>.json
source bench/calls/prefix.sh
clocklog
hostmemlog
timeout 200 python3 -c "from deepspeed.ops.op_builder import FusedAdamBuilder; FusedAdamBuilder().load()" > $R/build.log 2>&1 &
python3 bench/accuracy/run_batch.py --batch b32-1gpu-new-families --skip-existing --out $R/b32 --gpus 1 --budget-s $((580 - SECONDS)) --no-build > $R/b32.log 2>&1
echo "rc $?" >> $R/b32.log
kill $(jobs -p) 2>/dev/null; pack
