# Session 7 (nvidia-h200-x2, <= 9.5 min): issue 10's baseline grid for llama7b at a 40 GiB cap. Only ZeRO-Offload
# fits there (S6-3 skipped everything: model states over the cap, and each offload run overran a 300 s budget), so
# this call gives it the whole budget. Unpack: python bench/baseline/grid.py unpack <dir>/baseline_<w>.json
source bench/calls/prefix.sh
prebuild
python3 bench/baseline/grid.py run --workload llama7b-2g-c40-s4096-b32 --out $R --budget-s 480 --no-build --steps 4 --warmup 1 > $R/grid_l7c40.log 2>&1
echo "rc $?" >> $R/grid_l7c40.log
pack
