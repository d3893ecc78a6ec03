# Session 4 call 3 (nvidia-h200-x2): a profiled ZeRO-3 + recompute parity pair (issue 10: ZeRO-3 is the worst time
# family; read it with bench/accuracy/trace_compare.py --run), then the rest of the llama7b baseline grid with the
# grid's early stop (issue 10 plan quality).
source bench/calls/prefix.sh
prebuild
python3 bench/runtime/parity.py run --out $R/parity --budget-s 200 --configs zero3-rc --trace --no-build > $R/parity.log 2>&1
pack
python3 bench/baseline/grid.py run --workload llama7b-2g-c78-s4096-b32 --out $R --budget-s 300 --steps 4 --warmup 1 --no-build > $R/grid_l7.log 2>&1
pack
