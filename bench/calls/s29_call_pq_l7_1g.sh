# Session 29, call 1 (nvidia-h200, 1 GPU): plan quality of llama-7b on one 78 GiB card (a new 1-GPU workload,
# llama7b-1g-c78-s4096-b16). mist_ds's winner (the plan batch b23 ran in S28-1, predicted 6.09 s/iter) through
# launch/train.py, then the HF+DeepSpeed baseline grid: only ZeRO-Offload fits (model states 108 GB), ZeRO-2 at
# micro-batch 8 and 4 first (the 1-GPU c24 grid's best was its largest micro-batch). SM clocks and power logged.
# Unpack: python bench/accuracy/unpack.py $X/r/pq/accuracy_jobs.json --results bench/results/plan_quality
#         python bench/baseline/grid.py unpack $X/r/baseline_llama7b-1g-c78-s4096-b16.json
source bench/calls/prefix.sh
clocklog
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/results/plan_quality/jobs.json --out $R/pq --budget-s 150 --no-build > $R/pq.log 2>&1
echo "rc $?" >> $R/pq.log
python3 bench/baseline/grid.py run --workload llama7b-1g-c78-s4096-b16 --out $R --budget-s 330 --no-build --steps 4 --warmup 1 --zero-stages 2 --micro-batches 8,4 > $R/grid.log 2>&1
echo "rc $?" >> $R/grid.log
pack
