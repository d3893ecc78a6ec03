# Session 57 prepared this for a later session (nvidia-h100-x1 or nvidia-h200; timeout_s ~410, LIMIT=400, carry .whl);
# issue 10. mistpipe's last stage now drops each micro-batch's logits after its backward
# (runtime/mistpipe/engine.py _exec_backward_pass, RunReport.releases_logits; tested on CPU, never on a GPU): does the
# allocated peak fall by the held sets the model no longer prices (cost/mistpipe.py _held)? Repeats of three winners
# with the head on their one stage; then `python bench/accuracy/repeats.py add $R/rep/accuracy_s57_next_release.json
# S<n>-<k>` and `make accuracy`. Predicted allocated peak GiB on h100-1gpu-node at this commit (with the engine before:
# measured), the largest change first:
#   auto-qw7b-1g-c40-s2048-b16 (Qwen2-7B, mb 8, ga 2: 4.64 GiB logits sets)  36.3  (40.7 priced; 39.35 measured, S35-4)
#   h100n-auto-l38b-1g-c78-s4096-b16 (Llama-3-8B, mb 1, ga 16)               55.27 (56.25; 55.94, S57-3)
#   h100n-auto-q3-4b-1g-c78-s4096-b16 (Qwen3-4B, mb 1, ga 16)                66.21 (67.81; 67.54, S57-4)
# If a run allocates a held set more than predicted, something else keeps the logits alive on the GPU: run
# `peaksites auto-qw7b-1g-c40-s2048-b16 29899 150 h100-1gpu-node` (prefix.sh) and read live_at_peak.
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s57_next_release.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-400} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
