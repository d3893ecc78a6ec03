# Next session, nvidia-h200 (1 GPU, ~9 min; timeout_s 590): issue 14. What Liger's host synchronisations
# cost (S16-2: three per micro-batch, the only per-micro-batch sites: bench/results/runtime/sync_sites_S16/).
# The gpu tests of runtime/liger_loss.py first, then with-syncs (bench/runtime/liger_sync_train.py: Liger's own
# Function, the path before session 16) against launch/train.py (runtime/liger_loss.py), alternating, on a
# host-bound ZeRO-3 plan (g13 z3), the two small ZeRO-1/2 plans that ran 10-19% over the model in S16-4
# (l13b z2, g13 z1: a sync drains the queue the host built in the forward, before the backward's gradient
# hooks), and a GPU-bound ZeRO-1 plan (l27 z1). Keep the runs out of the accuracy suite:
# bench/results/runtime/liger_sync_S17/.
source bench/calls/prefix.sh
prebuild
timeout 150 python3 -m pytest -q -m gpu tests/runtime/test_liger_loss.py \
  "tests/runtime/test_gpu_block.py::test_loss_matches_fp32_reference_and_holds_no_fp32_logits" > $R/gpu_tests.log 2>&1
echo "rc $?" >> $R/gpu_tests.log
pack
clocklog
P=bench/results/accuracy
SYNC='"train_script": "bench/runtime/liger_sync_train.py"'
job() { echo "{\"name\": \"$1\", \"plan\": \"$P/$2.plan.json\", \"steps\": $3, \"warmup\": 2${4:+, $4}}"; }
{ echo "["
  for c in g13-1g-c40-s2048-z3-mb2:g13z3:10 l13b-1g-c40-s2048-z2-mb2:l13bz2:10 g13-1g-c40-s2048-z1-mb2:g13z1:10 \
           l27-1g-c78-b4-z1-mb1:l27z1:8; do IFS=: read plan short steps <<< "$c"
    job $short-sync $plan $steps "$SYNC"; echo ","; job $short-nosync $plan $steps; echo ","
  done | sed '$ d'; echo "]"; } > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/ab --gpus 1 --budget-s 420 --no-build > $R/ab.log 2>&1
echo "rc $?" >> $R/ab.log
kill %1 2>/dev/null
pack
