# Session 5 call 3 (nvidia-h200-x2, <= 9.5 min): issue 13's second workload - llama-7b on 2 GPUs capped at 24 GiB,
# the best stock and best mistpipe plans in one call - then the rest of the llama7b baseline grid (issue 10).
source bench/calls/prefix.sh
prebuild
python3 bench/engine/executor_compare.py --out $R/l7c24 --model llama-7b --gpus 2 --global-batch 32 --seq-len 4096 \
  --memory-gb 24 --hardware h200 --steps 3 --warmup 1 --timeout-s 200 > $R/l7c24.log 2>&1; echo "rc $?" >> $R/l7c24.log
pack
python3 bench/baseline/grid.py run --workload llama7b-2g-c78-s4096-b32 --out $R --budget-s 120 --steps 4 --warmup 1 --no-build > $R/grid_l7.log 2>&1
pack
