# Session 57 prepared this for a later session (nvidia-h100-x1 or nvidia-h200: allocation order, not timing;
# timeout_s ~240, LIMIT=230, carry .whl); issue 10. After S57-1 named a mistpipe buffer
# behind reserved memory (bench/results/runtime/frag_growth_S57/): the same reserved_growth on two stock DeepSpeed plans
# whose reserved memory the hole classes miss most (cost/reserved.py HOLE_PARTITIONS): the search winner
# auto-qw05b-1g-c78-s4096-b64 (Qwen2-0.5B, ZeRO-0 mb 8 ga 8; reserved 57.71 GiB, allocated 49.04, predicted 49.86:
# -13.6%; H200 node) and h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk (Llama 3.2 1B ZeRO-3 with the optimizer
# offloaded; 11.14 / 8.33 / 9.33: -16.2%). Holes follow the allocation order, the same on both cards (session 56).
# bench/engine/alloc_frag.py --history-from-build, 2 steps after 1 warm-up; copy $R/<plan>/ under bench/results/runtime/.
source bench/calls/prefix.sh
port=29895
for P in auto-qw05b-1g-c78-s4096-b64 h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk; do
  left=$(( ${LIMIT:-230} - 5 - SECONDS )); [ $left -lt 60 ] && break
  peaksites $P $port $left h100-1gpu-node; port=$((port + 1)); pack
done
