# Session 17, nvidia-h200 (1 GPU, ~8 min; timeout_s 570). (1) issue 14: S17-1's GPU loss test failed for
# 'chunked_compile' at 96.5 MB above the logits in a cold process (S15-5, after loss_peaks.py had filled the
# inductor cache: 33.6 MB); loss_peaks.py now reports the first (compiling) pass as well, in a fresh inductor
# cache, and the test warms its kernels before measuring. (2) issue 10: the two re-runs S16-3 had no time for
# (s16_call_rerun_1g.sh rest) and gpt-1.3b ZeRO-3 weight-offload's allocated peak by site (s16_next_peak_sites.sh).
source bench/calls/prefix.sh
TORCHINDUCTOR_CACHE_DIR=/tmp/ind_cold_1 timeout 120 python3 bench/runtime/loss_peaks.py > $R/loss_peaks.jsonl 2> $R/loss_peaks.err
echo "rc $?" >> $R/loss_peaks.err
TORCHINDUCTOR_CACHE_DIR=/tmp/ind_cold_2 timeout 100 python3 -m pytest -q -rfE --tb=short -m gpu -p no:cacheprovider \
  "tests/runtime/test_gpu_block.py::test_loss_matches_fp32_reference_and_holds_no_fp32_logits" 2>&1 \
  | grep -v DEBUG > $R/loss_test.log
pack
bash bench/calls/s16_next_peak_sites.sh
bash bench/calls/s16_call_rerun_1g.sh rest
