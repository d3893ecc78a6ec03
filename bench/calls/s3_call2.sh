# Session 3 call 2 (nvidia-h200-x2): best mistpipe vs best stock plan, llama-13b, 2 GPUs, 78 GiB (issue 13).
source bench/calls/prefix.sh
prebuild
python3 bench/engine/executor_compare.py --out $R/l13 --model llama-13b --gpus 2 --global-batch 32 --seq-len 4096 \
  --memory-gb 78 --hardware h200 --steps 3 --warmup 1 --timeout-s 265 > $R/l13.log 2>&1; echo "rc $?" >> $R/l13.log
pack
