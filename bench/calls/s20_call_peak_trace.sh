# Session 20, call 2 (nvidia-h200, 1 GPU, ~7 min; timeout_s 480): issue 10. The two 1-GPU calls session 18 left
# ready, in one call: s18_next_peak_g13off05.sh (allocated peak by site of g13-1g-c24-s2048-z3-off05-mb2, the
# suite's largest allocated under-prediction) and s18_call_trace_l27w1.sh (one profiled step of
# l27-1g-c24-s2048-z3-w1-off1-mb2-live, -16% time), the trace with a longer limit than S18-6's.
source bench/calls/prefix.sh
prebuild
peaksites g13-1g-c24-s2048-z3-off05-mb2 29888
traced l27w1live bench/results/accuracy/l27-1g-c24-s2048-z3-w1-off1-mb2-live.plan.json 29894 240
pack
