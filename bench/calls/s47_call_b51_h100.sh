# Session 47 (nvidia-h100-x1; timeout_s ~595, LIMIT=585, carry .whl); issue 10.
# Batch b51-1gpu-h100-swap: b49's mistpipe winners of three workloads, same knobs, now on the GPU swap path (the search
# prices it faster than the host's Adam once h100-1gpu-node carries the measured host step: cpu_step_per_adam 1.402,
# cpu_step_d2h_slowdown 1.416, CPU Adam 4.98 G/s at 16 threads). The first swap-path runs on an H100; held out of every
# fit. Predicted before the call (swap / the cpu_adam path they ran in S46, re-predicted / measured then):
#   h100n-auto-g27-1g-c24-s2048-b16-s47     1.862 s/iter  (cpu_adam 1.870 / 1.932)
#   h100n-auto-phi3m-1g-c78-s2047-b32-s47   3.082         (cpu_adam 3.083 / 3.166)
#   h100n-auto-q3-4b-1g-c40-s4096-b16-s47   4.728         (cpu_adam 4.741 / 4.687)
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b51-1gpu-h100-swap --skip-existing --out $R/b51 --gpus 1 \
  --budget-s $((${LIMIT:-585} - 5 - SECONDS)) --no-build > $R/b51.log 2>&1; echo "rc $?" >> $R/b51.log
pack
