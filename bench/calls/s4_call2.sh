# Session 4 call 2 (nvidia-h200-x2): llama-13b, 2 GPUs, 78 GiB: the best stock and best mistpipe plans under the
# host-memory rule (20% of the node kept free), in one call (issue 13's 1.2x; issue 10's plan quality).
source bench/calls/prefix.sh
prebuild
python3 bench/engine/executor_compare.py --out $R/l13 --model llama-13b --gpus 2 --global-batch 32 --seq-len 4096 \
  --memory-gb 78 --hardware h200 --steps 3 --warmup 1 --timeout-s 270 > $R/l13.log 2>&1; echo "rc $?" >> $R/l13.log
pack
