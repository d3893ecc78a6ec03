# Session 39 prepared this for the next 1-GPU session (nvidia-h200; timeout_s ~590, carry .whl); issue 10, plan quality.
# Batch b43-1gpu-refresh: today's winner for llama-2.7b on one 78 GiB card, seq 4096, batch 16 (the plan-quality
# workload llama2.7b-1g-c78-s4096-b16) is mistpipe ZeRO-0 mb 2, predicted 4.2% faster than the stock ZeRO-0 mb 2 plan
# that ran there (over the 3% tie tolerance): both in one call, alternated twice (the difference is near the noise).
# Re-run `python bench/accuracy/generate.py --check` first; if the model changed, regenerate and rewrite these numbers.
# Model at commit time (h200-1gpu-node):
#   auto-l27-1g-c78-s4096-b16              2.292 s (mistpipe: pp1 dp1 tp1 mb2 ga8 Z0), peak 73.1 GiB
#   pq-llama2.7b-1g-c78-s4096-b16          2.388 s (stock pp1 dp1 tp1 mb2 ga8 Z0; ran 2.374 on 2026-12-02, fused kernels)
# Afterwards: bench/accuracy/unpack.py on pass1's bundle, repeats.py add for pass2 and the pq- runs, make accuracy,
# then `python bench/plan_quality.py plans --refresh --workloads llama2.7b-1g-c78-s4096-b16` and report.
source bench/calls/prefix.sh
prebuild
printf '[{"name": "auto-l27-1g-c78-s4096-b16", "plan": "bench/results/accuracy/auto-l27-1g-c78-s4096-b16.plan.json"}, {"name": "pq-llama2.7b-1g-c78-s4096-b16", "plan": "bench/results/plan_quality/llama2.7b-1g-c78-s4096-b16.plan.json"}]\n' > $R/jobs.json
for pass in pass1 pass2; do
  python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/$pass --gpus 1 --budget-s $((585 - SECONDS)) --no-build \
    > $R/$pass.log 2>&1
  echo "rc $?" >> $R/$pass.log
  pack
done
