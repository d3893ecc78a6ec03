# Session 16, nvidia-h200 (1 GPU, ~9 min a part; timeout_s 590): issue 10;
# `bash bench/calls/s16_call_rerun_1g.sh a|b|rest`.
# 22 of the suite's 28 1-GPU runs date from 2026-11-30 04:xx, before the fused kernels and Liger's loss (their
# RunReports record no kernels, so the model re-prices them with the eager set). These re-runs measure the same
# plans under the current runtime, as repeats (bench/accuracy/repeats.py add BUNDLE S16-<call>).
# Part a (S16-3): the ZeRO-2/3 and offload plans; part b (S16-4): the ZeRO-0/1/2 plans without offload.
# Part rest (next session, ~4 min, timeout_s 300): the two plans of a that did not fit S16-3's budget; then
# add their rows to bench/accuracy/HOST_JITTER.md's session 16 table. Each case is plan:timed-steps.
case "$1" in
  a) CASES="g13-1g-c40-s2048-z3-mb2:6 g13-1g-c40-s2048-z3-mb4-rc24:6 g27-1g-c78-s2048-z3-mb4-rc24:5
            l13b-1g-c40-s2048-z3-mb4-rc24:5 l27-1g-c78-b4-z3-mb2-rc16:5 l27-1g-c78-b4-z2-mb2-rc32:5
            g13-1g-c24-s2048-z1-off1-mb2:5 g13-1g-c24-s2048-z2-off1-mb2:5 g13-1g-c24-s2048-z3-w1-off1-mb2:5
            g13-1g-c24-s2048-z3-off05-mb2:5 g13-1g-c24-s2048-z3-off1-mb2:5" ;;
  b) CASES="g13-1g-c40-s2048-z0-mb2:8 g13-1g-c40-s2048-z1-mb2:8 g13-1g-c40-s2048-z2-mb4-rc24:8
            g27-1g-c78-s2048-z0-mb2:6 g27-1g-c78-s2048-z1-mb4-rc24:6 g27-1g-c78-s2048-z2-mb4-rc0:6
            l13b-1g-c40-s2048-z0-mb4-rc24:6 l13b-1g-c40-s2048-z1-mb2:8 l13b-1g-c40-s2048-z2-mb2:8
            l27-1g-c78-b4-z0-mb4-rc32:5 l27-1g-c78-b4-z1-mb1:6" ;;
  rest) CASES="g13-1g-c24-s2048-z3-off05-mb2:5 g13-1g-c24-s2048-z3-off1-mb2:5" ;;
  *) echo "usage: bash bench/calls/s16_call_rerun_1g.sh a|b|rest"; exit 2 ;;
esac
source bench/calls/prefix.sh
prebuild
clocklog
P=bench/results/accuracy
job() { echo "{\"name\": \"$1\", \"plan\": \"$P/$1.plan.json\", \"steps\": $2, \"warmup\": 2}"; }
{ echo "["; sep=""
  for c in $CASES; do echo "$sep$(job ${c%%:*} ${c##*:})"; sep=","; done; echo "]"; } > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/rerun --gpus 1 --budget-s 480 --no-build > $R/rerun.log 2>&1
echo "rc $?" >> $R/rerun.log
kill %1 2>/dev/null
pack
