# Session 9, call 3 (nvidia-h200-x2): the baseline's llama13b-c78 grid (only ZeRO-Offload fits: 13B's model
# states exceed 78 GiB otherwise) at micro-batch 4, ZeRO-2 first (the first wave's best was ZeRO-3 mb 4, 20.98 s).
# Unpack: python bench/baseline/grid.py unpack $X/r/baseline_llama13b-2g-c78-s4096-b32.json
source bench/calls/prefix.sh
clocklog
prebuild
python3 bench/baseline/grid.py run --workload llama13b-2g-c78-s4096-b32 --out $R --budget-s 420 --no-build --steps 4 --warmup 1 --zero-stages 2,3 --micro-batches 4 > $R/grid_13b.log 2>&1
echo "rc $?" >> $R/grid_13b.log
pack
