# Session 9, call 1 (nvidia-h200-x2): issue 10's plan quality at the memory-bound caps. mist_ds's winners for
# llama2.7b-c24 and llama7b-c40 (unrun since the fastest kernels became the default), then the HF+DeepSpeed
# baseline grid of llama2.7b-c24 (only ZeRO-Offload fits: model states over 24 GiB otherwise), narrowed to
# ZeRO-2/3 at micro-batch 2 and 4 so some points finish in the budget. SM clocks and power logged throughout.
# Unpack: python bench/accuracy/unpack.py $X/r/pq/accuracy_jobs.json --results bench/results/plan_quality
#         python bench/baseline/grid.py unpack $X/r/baseline_llama2.7b-2g-c24-s4096-b32.json
source bench/calls/prefix.sh
clocklog
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s9_pq_a.json --out $R/pq --budget-s 270 --no-build > $R/pq.log 2>&1
echo "rc $?" >> $R/pq.log
python3 bench/baseline/grid.py run --workload llama2.7b-2g-c24-s4096-b32 --out $R --budget-s 215 --no-build --steps 4 --warmup 1 --zero-stages 2,3 --micro-batches 2,4 > $R/grid_c24.log 2>&1
echo "rc $?" >> $R/grid_c24.log
pack
