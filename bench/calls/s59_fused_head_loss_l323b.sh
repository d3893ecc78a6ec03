# Session 59 (nvidia-h100-x1 or nvidia-h200; timeout_s ~300, LIMIT=290, carry .whl); issue 10. The half of
# s58_next_fused_head_loss_ab.sh that S59-1's budget left out: Llama 3.2 3B at 24 GiB (b58's re-won plan), A (the
# engine's default) then B (bench/engine/fused_head_loss_train.py), and the fused loss's GPU test again (S59-1's
# failed in the test itself: it made its incoming-gradient tensor, a synchronising copy, inside the sync check).
# Predictions (session 59's pricing with the dW accumulation passes, h100-1gpu-node / h200-1gpu-node profiles, no copy
# slowdowns): A 3.658 / 3.613 s/iter, B 3.690 / 3.647; allocated A 22.89 GiB, B 22.36 (the head's backward was the peak; B holds one 1024-token
# chunk of 16-bit logits, dx and per-token vectors instead of the 1.05 GB logits). Losses equal to bf16 rounding.
# Results: bench/results/engine/fused_head_loss_S59/.
source bench/calls/prefix.sh
prebuild
timeout 60 python3 -m pytest -q -m gpu tests/runtime/test_fused_head_loss.py --basetemp=/tmp/ptfused -p no:cacheprovider \
  > $R/fused_gpu_tests.log 2>&1; echo "rc $?" >> $R/fused_gpu_tests.log
A=bench/results/accuracy
B='"train_script": "bench/engine/fused_head_loss_train.py"'
cat > $R/jobs.json <<JOBS
[{"name": "l323b-c24-default", "plan": "$A/h100n-auto-l323b-1g-c24-s4096-b16-s58.plan.json", "timeout_s": 95},
 {"name": "l323b-c24-fused", "plan": "$A/h100n-auto-l323b-1g-c24-s4096-b16-s58.plan.json", "timeout_s": 95, $B}]
JOBS
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/ab --gpus 1 \
  --budget-s $((${LIMIT:-290} - 5 - SECONDS)) --no-build > $R/ab.log 2>&1; echo "rc $?" >> $R/ab.log
pack
