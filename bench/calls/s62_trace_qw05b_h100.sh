# Session 62 (nvidia-h100-x1; timeout_s ~450, LIMIT=440, carry .whl; a fresh machine spends ~130 s building the ops);
# issue 10. Qwen2-0.5B's streamed 24 GiB plan on the H100 node (h100n-auto-qw05b-1g-c24-s4096-b64: every weight
# streamed, a quarter of the optimizer on the host, mb 2 ga 32) ran 11-13% slower than the model in three runs (2.98,
# 3.04, 2.99 s/iter; predicted 2.660), its resident sibling (-s58: nothing offloaded) 3.9% faster (2.521; 2.619). The
# model prices its forward at 25.9 ms a micro-batch (~1.08 ms a block) and no mistpipe host time per block pass on this
# profile; session 61 measured the host at ~1.32 ms a forward block pass and 1.63 ms a backward one on Qwen3-1.7B
# (bench/results/runtime/launch_lag_S61/). Hypothesis: the small blocks' forward is host-paced, ~0.2-0.3 s an
# iteration. One profiled step (step 4 of 5) of each, GPU side and runtime calls only with every launch; read with
# bench/runtime/launch_timeline.py (pace: host vs GPU spacing per block pass).
# HW=h200-1gpu-node runs it on an H200 node instead.
source bench/calls/prefix.sh
prebuild
first=$(( (${LIMIT:-440} - SECONDS) / 2 ))
launchtrace qwstreamed h100n-auto-qw05b-1g-c24-s4096-b64 $first 29884
launchtrace qwresident h100n-auto-qw05b-1g-c24-s4096-b64-s58 $(( ${LIMIT:-440} - 5 - SECONDS )) 29885
