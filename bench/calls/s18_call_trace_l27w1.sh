# Session 18, call 6 (nvidia-h200, 1 GPU, ~4 min; timeout_s 265): issue 10. One profiled step of the llama-2.7b
# ZeRO-3 weight-offload plan bounded to the reuse set (l27-1g-c24-s2048-z3-w1-off1-mb2-live: 3.13 s/iter against
# 2.62 predicted, -16%; its twin the same), to split the miss between the micro-batches (weight copies, hooks) and
# the step (CPU Adam: 1.08 s predicted).
source bench/calls/prefix.sh
prebuild
traced l27w1live bench/results/accuracy/l27-1g-c24-s2048-z3-w1-off1-mb2-live.plan.json 29894 150
pack
