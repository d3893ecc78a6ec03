# Session 58 (nvidia-h100-x1 or nvidia-h200; timeout_s ~410, LIMIT=400, carry .whl); issue 10. The GPU check of two
# engine changes tested on CPU only: mistpipe's last stage drops each micro-batch's logits after its backward (session
# 57: runtime/mistpipe/engine.py _exec_backward_pass, RunReport.releases_logits) and an untied LM head adds its weight
# gradient into the resident unit's buffer in its GEMM (session 58: runtime/mistpipe/stage.py _fuse_head,
# RunReport.fused_head_wgrad). Repeats of three winners with the head on their one stage (s57_next_release.json);
# then `python bench/accuracy/repeats.py add $R/rep/accuracy_s57_next_release.json S<n>-<k>` and `make accuracy`.
# Predicted allocated / reserved peak GiB on h100-1gpu-node at this commit (/tmp-free: the cost model with each
# plan's latest run's records, then with the release, then with the release and the head's sink):
#   auto-qw7b-1g-c40-s2048-b16 (Qwen2-7B untied, mb 8, ga 2)  before 40.70/40.00 (39.35 measured S35-4)
#                                                               release 36.30/38.74; + sink 36.30/38.74 (step-phase peak)
#   h100n-auto-l38b-1g-c78-s4096-b16 (Llama-3-8B untied, mb 1) before 56.25/58.60 (55.94/57.97 measured S57-3)
#                                                               release 55.27/57.62; + sink 54.29/56.64
#   h100n-auto-q3-4b-1g-c78-s4096-b16 (Qwen3-4B tied, mb 1)    before 67.81/68.68 (67.54/68.89 measured S57-4)
#                                                               release 66.21/67.08 (tied: no sink)
# If a run allocates more than predicted by about a held logits set (qw7b 4.64 GiB, l38b 0.98, q3-4b 1.16) or by the
# head's gradient (l38b 0.98 GiB), run `peaksites PLAN PORT 150 h100-1gpu-node` (prefix.sh) and read live_at_peak.
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s57_next_release.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-400} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
