# Session 55 prepared this for a later session (nvidia-h100-x1; timeout_s ~590, LIMIT=580, carry .whl; run it twice:
# the second call takes the grid points the first left); issue 10, plan quality on a second GPU model. Workload
# h100n-llama2.7b-1g-c24-s4096-b16 (bench/baseline/grid.py WORKLOADS: Llama-2.7B, seq 4096, global batch 16, one H100
# capped at 24 GiB, profile h100-1gpu-node): mist_ds's winner (bench/results/plan_quality/<workload>.plan.json, mistpipe
# mb 1 ga 16, every optimizer state offloaded, predicted 3.057 s/iter; jobs.json) unless its run is committed, then the
# plain DeepSpeed user's grid (bench/baseline/train_hf.py; only ZeRO-2/3 + CPU Adam with checkpointing fits 24 GiB:
# 8 points, ~1.5 min each; the H200 node's best was ZeRO-2 mb 8, 5.385 s/iter, against mist_ds's 3.047), committed
# points skipped. Unpack: python bench/accuracy/unpack.py $X/r/pq/<bundle>.json --results bench/results/plan_quality;
# python bench/baseline/grid.py unpack $X/r/baseline_<workload>.json; python bench/plan_quality.py report.
source bench/calls/prefix.sh
W=h100n-llama2.7b-1g-c24-s4096-b16
prebuild
if [ ! -f bench/results/plan_quality/$W.run.json ]; then
  python3 bench/accuracy/run_batch.py --jobs bench/results/plan_quality/jobs.json --out $R/pq --gpus 1 --no-build \
    --budget-s 150 > $R/pq.log 2>&1; echo "rc $?" >> $R/pq.log; pack
fi
python3 bench/baseline/grid.py run --workload $W --out $R --budget-s $(( ${LIMIT:-580} - 10 - SECONDS )) --no-build \
  --steps 4 --warmup 1 > $R/grid.log 2>&1; echo "rc $?" >> $R/grid.log
pack
