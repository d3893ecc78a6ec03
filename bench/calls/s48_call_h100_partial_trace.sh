# Session 48 (nvidia-h100-x1; timeout_s ~560, carry .whl); issue 10.
# With the node's h2d-beside-d2h interference re-measured (bench/results/runtime/h100_interference_S48/: three profiler
# runs 1.21-1.25x, not the profile's one 1.48x), the H100 node's ratio-1 swap runs are priced -3.5..+3.2%, while
# every mistpipe run that offloads part of the optimizer (ratio 0.25-0.75) runs slower than priced (-2.2..-9.5%).
# Profiled steps of two of them, for bench/engine/mistpipe_compare.py and step_timeline.py --waits:
#   h100-auto-l13b-1g-c24-s4096-b16    llama-1.3b, ratio 0.5, 1 recomputed layer (b46; -9.5%)
#   h100n-auto-phi3m-1g-c40-s2047-b32  Phi-3-mini, ratio 0.75 (b52; -3.4%)
source bench/calls/prefix.sh
prebuild
DIGEST_LIMIT=120 traced l13bhalf bench/results/accuracy/h100-auto-l13b-1g-c24-s4096-b16.plan.json 29874 220 h100-1gpu-node
pack
DIGEST_LIMIT=120 traced phi3m75 bench/results/accuracy/h100n-auto-phi3m-1g-c40-s2047-b32.plan.json 29875 220 h100-1gpu-node
pack
