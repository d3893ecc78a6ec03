# Session 9, call 2 (nvidia-h200-x2): mist_ds's llama13b-c78 winner (ZeRO-3, half the optimizer and gradients
# offloaded, mb 4; 3 timed steps), then the baseline's llama7b-c40 grid (only ZeRO-Offload fits) at micro-batch 4,
# ZeRO-2 first (full bf16 weights stay on the GPU, no per-layer gathers).
# Unpack: python bench/accuracy/unpack.py $X/r/pq/accuracy_jobs.json --results bench/results/plan_quality
#         python bench/baseline/grid.py unpack $X/r/baseline_llama7b-2g-c40-s4096-b32.json
source bench/calls/prefix.sh
clocklog
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s9_pq_b.json --out $R/pq --budget-s 270 --no-build > $R/pq.log 2>&1
echo "rc $?" >> $R/pq.log
python3 bench/baseline/grid.py run --workload llama7b-2g-c40-s4096-b32 --out $R --budget-s 290 --no-build --steps 4 --warmup 1 --zero-stages 2,3 --micro-batches 4 > $R/grid_c40.log 2>&1
echo "rc $?" >> $R/grid_c40.log
pack
