# Session 31, call 1 (nvidia-h200, 1 GPU; timeout_s 600): does pinning the training process (taskset) steady a
# host-paced plan? Sidecars (bench/runtime/host_speed_log.py) time the RunReport's host probe every second on cores
# 0, 4, 12 and 15 (as in S30-4) while two host-paced plans run, alternating unpinned and pinned to cores 8-9 (8-11 once):
#   l13b-1g-c40-s2048-z3-mb4-rc24 (ZeRO-3 per submodule, dp 1; 0.549-1.015 s/iter over nine runs, HOST_JITTER.md)
#   auto-l13b-1g-c24-s4096-b16 (mistpipe mb1, launch-paced forward; 1.629 / 1.652 s/iter in S30-2/S30-3)
# Each run: 10 steps, 2 warm-up, limit 100 s (the ZeRO-3 plan took ~40 s to its first step in S30-4); packed after
# each run, windows in $R/windows.log.
source bench/calls/prefix.sh
prebuild
for c in 0 4 12 15; do python3 bench/runtime/host_speed_log.py --core $c --interval 1 --out $R/host_speed.core$c.log & done
Z=bench/results/accuracy/l13b-1g-c40-s2048-z3-mb4-rc24.plan.json
M=bench/results/accuracy/auto-l13b-1g-c24-s4096-b16.plan.json
trainrun z3-free1 $Z 29951 100
trainrun z3-pin1 $Z 29952 100 8,9
trainrun z3-free2 $Z 29953 100
trainrun z3-pin2 $Z 29954 100 8,9
trainrun mp-free1 $M 29955 100
trainrun mp-pin1 $M 29956 100 8,9
trainrun z3-pin4c $Z 29957 100 8-11
kill $(jobs -p) 2>/dev/null; pack
