# Session 21, call 3 (nvidia-h200, 1 GPU, ~8 min; timeout_s 480): llama2.7b-1g-c24-s4096-b16's ZeRO-3 baseline points
# (ZeRO-3 + offload_optimizer + HF checkpointing, mb 1, 2, 4, 8), the last untried points of its grid after S21-1
# and S21-2 (best so far ZeRO-2 + offload mb 8, 5.385 s/iter; mist_ds's winner 3.047 in the same call). Each point
# stops after its first timed step when that step is 1.25x slower than the best (grid.py EARLY_STOP_RATIO).
# Unpack: python bench/baseline/grid.py unpack $X/r/baseline_llama2.7b-1g-c24-s4096-b16.json.
source bench/calls/prefix.sh
prebuild
python3 bench/baseline/grid.py run --workload llama2.7b-1g-c24-s4096-b16 --out $R --budget-s 340 --no-build --steps 4 --warmup 1 --zero-stages 3 > $R/grid.log 2>&1
echo "rc $?" >> $R/grid.log
pack
