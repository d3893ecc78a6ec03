# Session 21, call 4 (nvidia-h200, 1 GPU, ~4 min; timeout_s 300): the last untried point of llama2.7b-1g-c24-s4096-b16's
# baseline grid, ZeRO-3 + offload_optimizer + checkpointing mb 8 (S21-3 ran mb 1, 2, 4 and had no budget left for it).
# Unpack: python bench/baseline/grid.py unpack $X/r/baseline_llama2.7b-1g-c24-s4096-b16.json.
source bench/calls/prefix.sh
prebuild
python3 bench/baseline/grid.py run --workload llama2.7b-1g-c24-s4096-b16 --out $R --budget-s 150 --no-build --steps 4 --warmup 1 --zero-stages 3 --micro-batches 8 > $R/grid.log 2>&1
echo "rc $?" >> $R/grid.log
pack
