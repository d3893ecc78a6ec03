# Session 15, nvidia-h200 (1 GPU, ~6 min): S15-1 found the loss test's two remaining failures were the test's
# bounds (liger's bf16 loss rounding; 'chunked' holds one 64 MiB fp32 chunk, 0.51 bytes per logit at 4096 x 32000);
# re-run it with the corrected bounds, then s14_next_zero1_trace.sh (profiled ZeRO-1/ZeRO-0 steps, issue 10).
source bench/calls/prefix.sh
timeout 100 python3 -m pytest -q -rfE --tb=short -m gpu \
  "tests/runtime/test_gpu_block.py::test_loss_matches_fp32_reference_and_holds_no_fp32_logits" \
  --basetemp=/tmp/pt_loss -p no:cacheprovider > $R/loss_test.log 2>&1
echo "rc $?" >> $R/loss_test.log
pack
source bench/calls/s14_next_zero1_trace.sh
