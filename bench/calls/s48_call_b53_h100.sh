# Session 48 (nvidia-h100-x1; timeout_s ~300 with LIMIT=290: the session's last device time; carry .whl); issue 10.
# 1. Batch b53-1gpu-h100-interference (bench/accuracy/cases.py B53), held out: the search's Llama 3.2 3B winner at 24 GiB
#    on h100-1gpu-node once its interference is the median of four profiler runs: every optimizer state on the GPU swap
#    path, 14 of 28 layers recomputed, micro-batch 1. Predicted before the call: 3.819 s/iter (b52's host-Adam winner
#    of the same workload: 4.012 measured, 3.894 re-predicted with the new interference and host-step medians).
# 2. Repeats of two b46 mistpipe runs that offload half the optimizer (priced -9.5% / -4.7% with the new interference;
#    S48-3's profiled step of the first ran 1.365 s/iter unprofiled against b46's 1.498): is b46's run the outlier?
#    (bench/calls/s48_pair_repeats.json; `python bench/accuracy/repeats.py add BUNDLE S48-4`).
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b53-1gpu-h100-interference --skip-existing --out $R/b53 --gpus 1 \
  --budget-s $((${LIMIT:-290} - 5 - SECONDS)) --no-build > $R/b53.log 2>&1; echo "rc $?" >> $R/b53.log
pack
python3 bench/accuracy/run_batch.py --jobs bench/calls/s48_pair_repeats.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-290} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
