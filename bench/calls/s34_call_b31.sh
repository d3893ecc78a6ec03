# Session 34, call 4 (nvidia-h200, 1 GPU; timeout_s 480): batch b31-1gpu-held-out, the search's winners for four
# unseen workloads, predicted on h200-1gpu-node with the model of this commit (the swap's two-slot cycle priced)
# (`python bench/accuracy/generate.py --cases ... --hardware h200-1gpu-node`):
#   auto-qw05b-1g-c24-s8192-b32  2.774 s/iter, peak 21.7 GiB, host 5 GiB (mistpipe mb1 ga32, optimizer 0.5 offloaded)
#   auto-qw05b-1g-c78-s4096-b64  2.192 s/iter, peak 49.5 GiB (stock ZeRO-0 mb8 ga8, nothing recomputed)
#   auto-l323b-1g-c40-s2048-b32  2.999 s/iter, peak 38.2 GiB, host 29 GiB (mistpipe mb2 ga16, optimizer 0.75 offloaded, 4 of 28 recomputed)
#   auto-mis7b-1g-c78-s2048-b32  6.115 s/iter, peak 65.5 GiB, host 63 GiB (mistpipe mb1 ga32, optimizer 0.75 offloaded)
# Every offloaded share takes the gpu_swap path (no CPU Adam op to build); the stock ZeRO-0 plan runs last while
# DeepSpeed's FusedAdam builds in the background from the start.
# Unpack: python bench/accuracy/unpack.py $X/r/b31/<bundle>.json
source bench/calls/prefix.sh
clocklog
timeout 200 python3 -c "from deepspeed.ops.op_builder import FusedAdamBuilder; FusedAdamBuilder().load()" > $R/build.log 2>&1 &
python3 bench/accuracy/run_batch.py --batch b31-1gpu-held-out --skip-existing --out $R/b31 --gpus 1 --budget-s $((470 - SECONDS)) --no-build > $R/b31.log 2>&1
echo "rc $?" >> $R/b31.log
kill $(jobs -p) 2>/dev/null; pack
