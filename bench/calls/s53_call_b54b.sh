# Session 53 (nvidia-h200, the 1-GPU node; timeout_s ~480, LIMIT=470, carry .whl); issue 10.
# 1. Batch b54b-1gpu-h200-node: b54's sixth workload, auto-q3-8b-1g-c78-s8192-b8, predicted 8.662 s/iter before
#    S53-2 (bench/calls/s53_call_b54_h200_node.sh), which had no budget left for it.
# 2. b54's one miss, auto-qw15b-1g-c40-s4096-b32 (Qwen2-1.5B, optimizer ratio 0.25 swapped; 2.810 predicted, 3.126
#    measured in S53-2, -10.1%): run again (bench/calls/s53_qw15b_repeat.json -> repeats.py add), then one traced step
#    with host buckets, its micro-batch walls against the plan:
#      python bench/engine/microbatch_walls.py $R/traces/qw15b.rank0.digest.json.gz \
#        bench/results/accuracy/auto-qw15b-1g-c40-s4096-b32.plan.json
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b54b-1gpu-h200-node --skip-existing --out $R/b54b --gpus 1 \
  --budget-s $((${LIMIT:-470} - 5 - SECONDS)) --no-build > $R/b54b.log 2>&1; echo "rc $?" >> $R/b54b.log
pack
python3 bench/accuracy/run_batch.py --jobs bench/calls/s53_qw15b_repeat.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-470} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
left=$((${LIMIT:-470} - 10 - SECONDS))
[ $left -gt 90 ] && DIGEST_LIMIT=60 traced qw15b bench/results/accuracy/auto-qw15b-1g-c40-s4096-b32.plan.json 29877 \
  $((left - 65)) h200-1gpu-node
pack
