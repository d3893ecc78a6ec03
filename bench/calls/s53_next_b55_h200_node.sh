# Session 53 prepared this for a later session that lands on the 1-GPU H200 node (nvidia-h200; timeout_s ~590,
# LIMIT=580, carry .whl); issue 10. Batch b55-1gpu-h200-node (bench/accuracy/cases.py B55): the search's winners on
# h200-1gpu-node (host step and interference of S53-1) for five workloads no H200-node run had trained, held out of
# every fit; run_batch skips what the budget cannot hold. Predicted in session 53, before any run (s/iter):
#   auto-qw05b-1g-c24-s4096-b64   2.487  mistpipe mb 2, optimizer 0.5 on the GPU swap path (66 vs 97 ms a step)
#   auto-g2l-1g-c40-s1024-b128    1.574  stock DeepSpeed ZeRO-0, mb 16
#   auto-l27-1g-c40-s2048-b32     2.591  mistpipe mb 2, optimizer 0.75 swapped (526 vs 794)
#   auto-q3-4b-1g-c78-s4096-b16   3.982  mistpipe mb 1, optimizer 0.5 swapped (522 vs 787)
#   auto-mis7b-1g-c40-s2048-b16   4.871  mistpipe mb 2, weights 0.5, optimizer 1 swapped, 9 recomputed (1872 vs 2837)
# Then: python bench/accuracy/unpack.py $R/b55/accuracy_b55-1gpu-h200-node.json, `make accuracy`, the constraint tests.
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b55-1gpu-h200-node --skip-existing --out $R/b55 --gpus 1 \
  --budget-s $((${LIMIT:-580} - 5 - SECONDS)) --no-build > $R/b55.log 2>&1; echo "rc $?" >> $R/b55.log
pack
