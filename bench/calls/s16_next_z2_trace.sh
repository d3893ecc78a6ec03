# Next session, nvidia-h200 (1 GPU, ~4 min; timeout_s 300): issue 10. S16-4 measured llama-1.3b ZeRO-2 (mb 2, ga 4,
# no recompute) 87 ms a step over its ZeRO-1 twin, where the model says 8 ms and DeepSpeed's hook Python accounts
# for ~3 ms per micro-batch on a CPU (bench/results/runtime/zero_hooks_cpu/). One profiled step of each (run after
# s16_next_liger_sync.sh, so without the loss's syncs): where the ZeRO-2 backward's GPU idles, and which kernels
# or copies it adds (bench/engine/trace_digest.py; GPU busy / idle per pass as bench/accuracy/zero3_dp1.py does).
source bench/calls/prefix.sh
prebuild
traced l13b-z2 bench/results/accuracy/l13b-1g-c40-s2048-z2-mb2.plan.json 29891 110
pack
traced l13b-z1 bench/results/accuracy/l13b-1g-c40-s2048-z1-mb2.plan.json 29892 110
pack
