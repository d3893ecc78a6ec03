# Session 21, call 1 (nvidia-h200, 1 GPU, ~9.5 min; timeout_s 590): issue 10's plan quality on a new 1-GPU workload
# where memory binds, llama2.7b-1g-c24-s4096-b16 (bench/baseline/grid.py WORKLOADS): mist_ds's winner and the plain
# DeepSpeed user's grid in one call. Winner (`python bench/plan_quality.py plans`, h200-1gpu-node, written before
# this call): mistpipe, ZeRO-0 with the optimizer offloaded (ratio 1.0), mb 1, ga 16, no recompute, predicted
# 3.065 s/iter, peak 21.99 GiB of the 24 GiB cap. The baseline grid: ZeRO 0-3 exceed the cap by DeepSpeed's
# estimate, so only ZeRO-Offload runs (ZeRO-2 / ZeRO-3 + offload_optimizer, HF checkpointing, mb 1-8); the grid
# resumes from committed results, so a second call finishes what this one leaves (its untried points).
# Unpack: python bench/accuracy/unpack.py $X/r/pq/<bundle>.json --results bench/results/plan_quality and
# python bench/baseline/grid.py unpack $X/r/baseline_llama2.7b-1g-c24-s4096-b16.json; then plan_quality.py report.
source bench/calls/prefix.sh
prebuild
clocklog
echo '[{"name": "llama2.7b-1g-c24-s4096-b16", "plan": "bench/results/plan_quality/llama2.7b-1g-c24-s4096-b16.plan.json", "steps": 8, "warmup": 2}]' > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/pq --gpus 1 --budget-s 150 --no-build > $R/pq.log 2>&1
echo "rc $?" >> $R/pq.log
python3 bench/baseline/grid.py run --workload llama2.7b-1g-c24-s4096-b16 --out $R --budget-s 330 --no-build --steps 4 --warmup 1 > $R/grid.log 2>&1
echo "rc $?" >> $R/grid.log
kill %1 2>/dev/null
pack
