# Session 51 (issue 10): the shortest either-node call, for ~4 minutes of device budget (timeout_s ~290, carry .whl).
# H100 node: one traced step of a ratio-1 mistpipe plan at micro-batch 1, Qwen3-1.7B h100n-auto-q3-17b-1g-c24-s4096-b16
# (+2.5% on prediction), with host buckets: its forwards against the ratio-0.25 twin's traced in S47
# (bench/results/runtime/h100_traces_S47/traces/q317c40: ~30 ms of GPU idle per forward) and the ratio-0.5 forwards
# of S50 (bench/results/runtime/h100_partial_S50/). Then
#   python bench/engine/microbatch_walls.py $R/traces/q317all.rank0.digest.json.gz \
#     bench/results/accuracy/h100n-auto-q3-17b-1g-c24-s4096-b16.plan.json
# H200 node: the host step once and interference twice (s48_next_h200_node.sh says what to run after).
# TRACE_LIMIT / DIGEST_LIMIT / STEP_LIMIT (default 170 / 80 / 150 s) shorten the trace, its digest or the host step
# for a call with less budget left.
source bench/calls/prefix.sh
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  lscpu > $R/lscpu.txt 2>&1
  timeout ${STEP_LIMIT:-150} python3 -m mist_ds.profile --sections cpu_adam --out $R/cpu_step_1.json --raw-out $R/cpu_step_1.raw.json \
    --fallback h200-1gpu-node > $R/cpu_step_1.log 2>&1; echo "rc $?" >> $R/cpu_step_1.log
  pack
  for i in 1 2; do
    timeout 45 python3 -m mist_ds.profile --sections interference --out $R/intf_$i.json --raw-out $R/intf_$i.raw.json \
      --fallback h200-1gpu-node > $R/intf_$i.log 2>&1; echo "rc $?" >> $R/intf_$i.log
  done
  pack
else
  DIGEST_LIMIT=${DIGEST_LIMIT:-80} traced q317all bench/results/accuracy/h100n-auto-q3-17b-1g-c24-s4096-b16.plan.json 29877 ${TRACE_LIMIT:-170} h100-1gpu-node
  pack
fi
