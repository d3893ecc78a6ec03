# Session 35, call 3 (nvidia-h200, 1 GPU; timeout_s 600): batch b33-1gpu-new-families, the search's winners for seven
# unseen workloads (Qwen2-1.5B / 7B, GPT-2 Large, Pythia-2.8B, Llama-3-8B at seq 8192; each from its HF config.json),
# predicted on h200-1gpu-node with the model of this commit (partial-RoPE saves per kernel, 9f9b85d)
# (`python bench/accuracy/generate.py --cases ... --hardware h200-1gpu-node`):
#   auto-qw7b-1g-c40-s2048-b16    5.19 s/iter, peak 37.1 GiB, host 99 GiB (mistpipe mb8 ga2, all weights + optimizer offloaded)
#   auto-l38bhf-1g-c78-s8192-b8   7.83 s/iter, peak 72.9 GiB, host 98 GiB (mistpipe mb1 ga8, weights 0.5 + optimizer offloaded)
#   auto-qw15b-1g-c24-s4096-b32   3.08 s/iter, peak 19.2 GiB, host 19 GiB (mistpipe mb1 ga32, optimizer offloaded)
#   auto-g2l-1g-c16-s1024-b64     1.00 s/iter, peak 15.1 GiB, host 10 GiB (mistpipe mb8 ga8, optimizer offloaded)
#   auto-py28b-1g-c40-s2048-b32   2.64 s/iter, peak 33.0 GiB, host 25 GiB (mistpipe mb2 ga16, optimizer 0.75 offloaded)
#   auto-qw7b-1g-c78-s4096-b16    6.77 s/iter, peak 55.2 GiB, host 87 GiB (mistpipe mb1 ga16, optimizer offloaded)
#   auto-qw15b-1g-c78-s4096-b32   2.69 s/iter, peak 62.0 GiB (stock ZeRO-0 mb4 ga8)
# Every offloaded share takes the gpu_swap path; the stock ZeRO-0 plan runs last while FusedAdam builds from the start.
# Unpack: python bench/accuracy/unpack.py $X/r/b33/<bundle>.json
source bench/calls/prefix.sh
clocklog
hostmemlog
timeout 200 python3 -c "from deepspeed.ops.op_builder import FusedAdamBuilder; FusedAdamBuilder().load()" > $R/build.log 2>&1 &
python3 bench/accuracy/run_batch.py --batch b33-1gpu-new-families --skip-existing --out $R/b33 --gpus 1 --budget-s $((585 - SECONDS)) --no-build > $R/b33.log 2>&1
echo "rc $?" >> $R/b33.log
kill $(jobs -p) 2>/dev/null; pack
