# Session 11, call 3 (nvidia-h200, 1 GPU): the 1-GPU baseline grid's last untried points (ZeRO-2/3 with
# checkpointing), so the llama2.7b-1g plan-quality speedup is measured against a finished grid.
source bench/calls/prefix.sh
prebuild
timeout 480 python3 bench/baseline/grid.py run --workload llama2.7b-1g-c78-s4096-b16 --out $R/grid --budget-s 465 \
  --zero-stages 1,2,3 --checkpointing on --steps 4 --warmup 1 --no-build > $R/grid.log 2>&1
pack
