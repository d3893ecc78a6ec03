# Session 59 (nvidia-h100-x1, or an H100 under nvidia-h200; timeout_s ~270, LIMIT=260, carry .whl); issue 10. Why small
# blocks with their weights streamed run 11-16% over the model on the H100 node: b58b's Qwen3-1.7B re-win at 24 GiB
# (weights 0.5 and optimizer 0.75 offloaded, 1 recomputed: 2.387 s/iter against 1.996 predicted, S59-2) and its
# sibling that keeps its weights on the GPU (2.02-2.27 s/iter, predicted 2.070), each one profiled step (step 4 of 5).
# The model prices the streamed plan's micro-batch forward at 32.9 ms and backward at 68.7 (31.5 / 67.8 without
# streaming): the ~23 ms per micro-batch measured between the two is unpriced; the H100 node's mistpipe per-pass host
# terms are unfitted (0) while the H200 node's (0.41 ms a pass, 0.50 more when streamed) would overshoot GPT-1.3B
# there by 26% (bench/results/borrowed_mistpipe_h100_node.md). Then, per trace:
#   python bench/engine/mistpipe_compare.py $R/traces/NAME.rank0.digest.json.gz \
#     bench/results/accuracy/PLAN.plan.json --hardware h100-1gpu-node --run $R/NAME.profiled-run.json
# Results: bench/results/runtime/streamed_trace_S59/.
source bench/calls/prefix.sh
prebuild
DIGEST_LIMIT=60 traced q17streamed bench/results/accuracy/h100n-auto-q3-17b-1g-c24-s4096-b16-s58.plan.json 29881 110 h100-1gpu-node
pack
left=$(( ${LIMIT:-260} - 5 - SECONDS )); [ $left -ge 80 ] && DIGEST_LIMIT=50 traced q17resident \
  bench/results/accuracy/h100n-auto-q3-17b-1g-c24-s4096-b16.plan.json 29882 $((left - 55)) h100-1gpu-node
pack
