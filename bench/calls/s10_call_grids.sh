# Next session (nvidia-h200-x2, ~9.5 min): issue 10's baseline grids where session 9 left the likeliest-faster points
# untried (bench/results/baseline/README.md "Session 9"): ZeRO-2 + CPU Adam at micro-batch 8 for llama2.7b-c24 and
# llama7b-c40 (both ran mb 4 far under their caps), then ZeRO-3 offload at mb 4 for c24. Committed points are
# skipped. Unpack: python bench/baseline/grid.py unpack $X/r/baseline_<workload>.json, then
# python bench/plan_quality.py report.
source bench/calls/prefix.sh
clocklog
prebuild
python3 bench/baseline/grid.py run --workload llama2.7b-2g-c24-s4096-b32 --out $R --budget-s 110 --no-build --steps 4 --warmup 1 --zero-stages 2 --micro-batches 8 > $R/grid_c24.log 2>&1
echo "rc $?" >> $R/grid_c24.log
python3 bench/baseline/grid.py run --workload llama7b-2g-c40-s4096-b32 --out $R --budget-s 160 --no-build --steps 4 --warmup 1 --zero-stages 2 --micro-batches 8 > $R/grid_c40.log 2>&1
echo "rc $?" >> $R/grid_c40.log
python3 bench/baseline/grid.py run --workload llama2.7b-2g-c24-s4096-b32 --out $R/z3 --budget-s 130 --no-build --steps 4 --warmup 1 --zero-stages 3 --micro-batches 4 > $R/grid_c24_z3.log 2>&1
echo "rc $?" >> $R/grid_c24_z3.log
pack
