# Session 30, call 1 (nvidia-h200, 1 GPU): the llama7b-1g-c78 baseline grid's ZeRO-3 + CPU Adam points at micro-batch
# 2 and 1 (session 29 ran micro-batch 8 and 4: 14.643 / 14.967 s/iter; ZeRO-2 offload was killed by signal 9), so the
# workload's baseline best is measured over every micro-batch a user would try, not bounded.
# Unpack: python bench/baseline/grid.py unpack $X/r/baseline_llama7b-1g-c78-s4096-b16.json
source bench/calls/prefix.sh
hostmemlog
prebuild
python3 bench/baseline/grid.py run --workload llama7b-1g-c78-s4096-b16 --out $R --budget-s 470 --no-build --steps 4 --warmup 1 --zero-stages 3 --micro-batches 2,1 > $R/grid.log 2>&1
echo "rc $?" >> $R/grid.log
pack
