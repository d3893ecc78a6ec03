# Session 15, nvidia-h200 (1 GPU, ~2 min): S15-4's loss test still saw 92 MiB above the logits for 'chunked_compile'
# after its gradient kernel became pointwise; the stats kernel now avoids in-place ops too. Forward and backward
# peaks per implementation (bench/runtime/loss_peaks.py), then the GPU loss test.
source bench/calls/prefix.sh
timeout 120 python3 bench/runtime/loss_peaks.py > $R/loss_peaks.jsonl 2> $R/loss_peaks.err; echo "rc $?" >> $R/loss_peaks.err
pack
timeout 100 python3 -m pytest -q -rfE --tb=short -m gpu \
  "tests/runtime/test_gpu_block.py::test_loss_matches_fp32_reference_and_holds_no_fp32_logits" \
  --basetemp=/tmp/pt_loss -p no:cacheprovider 2>&1 | grep -v "DEBUG" > $R/loss_test.log
echo "rc $?" >> $R/loss_test.log
pack
