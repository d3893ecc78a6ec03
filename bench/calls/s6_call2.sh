# Session 6 call 2 (nvidia-h200-x2, <= 9.5 min): baseline grids for plan quality (issue 10): llama7b at 40 GiB, then
# the 1-GPU llama2.7b workload. Unpack each: python bench/baseline/grid.py unpack <dir>/baseline_<w>.json
source bench/calls/prefix.sh
python3 bench/baseline/grid.py run --workload llama7b-2g-c40-s4096-b32 --out $R --budget-s 300 > $R/grid_l7c40.log 2>&1; echo "rc $?" >> $R/grid_l7c40.log
pack
python3 bench/baseline/grid.py run --workload llama2.7b-1g-c78-s4096-b16 --out $R --budget-s 230 --no-build > $R/grid_l27.log 2>&1; echo "rc $?" >> $R/grid_l27.log
pack
