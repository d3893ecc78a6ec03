# Session 53 (nvidia-h200, the 1-GPU node; timeout_s ~330, LIMIT=320, carry .whl); issue 10.
# Batch b54c-1gpu-h200-node (bench/accuracy/cases.py B54C), held out, predicted before the call (s/iter):
#   auto-q3-17b-1g-c24-s4096-b16      1.996  mistpipe, optimizer ratio 1 on the GPU swap path (447 vs 675 ms a step)
#   auto-phi3m-1g-c40-s2047-b32-ds    4.836  stock DeepSpeed ZeRO-1, optimizer offloaded, mb 2
#   auto-q3-17b-1g-c24-s4096-b16-ds   2.576  stock DeepSpeed ZeRO-1, optimizer offloaded, mb 1
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b54c-1gpu-h200-node --skip-existing --out $R/b54c --gpus 1 \
  --budget-s $((${LIMIT:-320} - 5 - SECONDS)) --no-build > $R/b54c.log 2>&1; echo "rc $?" >> $R/b54c.log
pack
