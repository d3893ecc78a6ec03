# Next session, nvidia-h200 (1 GPU, ~6 min; timeout_s 420): issue 10, the suite's time maximum. S17-4's 1-GPU
# parity run of llama-2.7b ZeRO-3 with every block recomputed (seq 4096, mb 2) took 2.719 s/iter against 1.80
# predicted (-33.8%; plain DeepSpeed 3.714 s). One profiled step (GPU idle share, host time per fetch hook), then
# two plain runs of the same plan in this call, to tell a host-bound plan's call-to-call spread
# (bench/accuracy/HOST_JITTER.md) from a cost the model lacks.
source bench/calls/prefix.sh
prebuild
P=bench/results/runtime/parity/zero3-rc-l27-1g-S17.plan.json
traced z3rc-l27 $P 29893 150
pack
echo "[{\"name\": \"z3rc-a\", \"plan\": \"$P\", \"steps\": 4, \"warmup\": 2}, {\"name\": \"z3rc-b\", \"plan\": \"$P\", \"steps\": 4, \"warmup\": 2}]" > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/runs --gpus 1 --budget-s 200 --no-build > $R/runs.log 2>&1
echo "rc $?" >> $R/runs.log
pack
