# Session 6 call 1 (nvidia-h200-x2, <= 9.5 min): baseline grids for plan quality (issue 10). gpt6.7b first (no point
# run yet), then what is left of llama7b's. Unpack each: python bench/baseline/grid.py unpack <dir>/baseline_<w>.json
source bench/calls/prefix.sh
python3 bench/baseline/grid.py run --workload gpt6.7b-2g-c78-s4096-b32 --out $R --budget-s 380 > $R/grid_gpt.log 2>&1; echo "rc $?" >> $R/grid_gpt.log
pack
python3 bench/baseline/grid.py run --workload llama7b-2g-c78-s4096-b32 --out $R --budget-s 150 --no-build > $R/grid_l7.log 2>&1; echo "rc $?" >> $R/grid_l7.log
pack
