# Session 4 call 3 (nvidia-h200-x2): the rest of the llama7b baseline grid, then gpt6.7b's (issue 10 plan quality),
# with the grid's early stop.
source bench/calls/prefix.sh
prebuild
python3 bench/baseline/grid.py run --workload llama7b-2g-c78-s4096-b32 --out $R --budget-s 300 --steps 4 --warmup 1 --no-build > $R/grid_l7.log 2>&1
pack
python3 bench/baseline/grid.py run --workload gpt6.7b-2g-c78-s4096-b32 --out $R --budget-s 250 --steps 4 --warmup 1 --no-build > $R/grid_g67.log 2>&1
pack
