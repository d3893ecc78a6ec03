# Session 53 (nvidia-h200, the 1-GPU node; timeout_s ~590, LIMIT=580, carry .whl); issue 10.
# Batch b54-1gpu-h200-node (bench/accuracy/cases.py B54): the search's winners on h200-1gpu-node after its host step
# and interference were measured in S53-1 (bench/results/runtime/h200_node_host_S53/), six workloads no H200-node run
# had trained, held out of every fit; run_batch skips what the budget cannot hold (it skipped the sixth, which then
# became batch b54b: bench/calls/s53_call_b54b.sh). Predicted before the call (s/iter;
# every one mistpipe on the GPU swap path, optimizer step priced gpu_swap vs cpu_adam):
#   auto-qw15b-1g-c40-s4096-b32   2.810  (o 0.25; 102 vs 151 ms a step)
#   auto-l321b-1g-c24-s8192-b16   2.703  (o 1;    322 vs 488)
#   auto-py28b-1g-c24-s2048-b32   2.860  (o 1, mb 2; 719 vs 1087)
#   auto-phi3m-1g-c40-s2047-b32   3.636  (o 0.75; 743 vs 1123)
#   auto-q3-4b-1g-c24-s4096-b16   5.379  (w 0.5, o 1, 27 recomputed; 1041 vs 1575)
#   auto-q3-8b-1g-c78-s8192-b8    8.662  (o 1, 10 recomputed; 2117 vs 3206)
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b54-1gpu-h200-node --skip-existing --out $R/b54 --gpus 1 \
  --budget-s $((${LIMIT:-580} - 5 - SECONDS)) --no-build > $R/b54.log 2>&1; echo "rc $?" >> $R/b54.log
pack
