# Session 48 prepared this for a later H100 session (nvidia-h100-x1; timeout_s ~595, LIMIT=585, carry .whl); issue 10.
# The H100 node's mistpipe runs that offload part of the optimizer (ratio 0.25-0.75) run 2.2-9.5% slower than priced,
# while those that offload all of it sit at -3.5..+3.2% (bench/results/runtime/h100_swap_trace_S48/): b46's llama-1.3b
# plan ran 1.498, 1.423 and (unprofiled steps of a traced run) 1.365 s/iter against 1.355 predicted, and its profiled
# step lost 66 ms to host-paced gaps in its last three forwards.
# 1. That plan traced again: its digest now counts every host thread's ops and launches per 5 ms (host_buckets), for
#      python bench/engine/microbatch_walls.py $R/traces/l13bhalf2.rank0.digest.json.gz \
#        bench/results/accuracy/h100-auto-l13b-1g-c24-s4096-b16.plan.json
#    (more host work in the slow forwards, or the same work slower, and on which thread).
# 2. Repeats of the other partial-offload plans (bench/calls/s48_next_partial_repeats.json; then
#    `python bench/accuracy/repeats.py add BUNDLE LABEL`): is each run's shortfall the plan's or the run's?
source bench/calls/prefix.sh
prebuild
DIGEST_LIMIT=120 traced l13bhalf2 bench/results/accuracy/h100-auto-l13b-1g-c24-s4096-b16.plan.json 29874 220 h100-1gpu-node
pack
python3 bench/accuracy/run_batch.py --jobs bench/calls/s48_next_partial_repeats.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-585} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
