# Session 58 prepared this for a later session, session 59 added the GPU test (nvidia-h100-x1 or nvidia-h200; timeout_s ~480, LIMIT=470, carry .whl);
# issue 10. The GPU A/B of mistpipe's fused LM head + cross-entropy (runtime/fused_head_loss.py, engine option
# fused_head_loss, off by default; CPU-tested against stock DeepSpeed, never run on a GPU, not priced): each plan with
# launch/train.py (A, the engine's default) and bench/engine/fused_head_loss_train.py (B), back to back.
# Expected: B's allocated peak lower by up to one micro-batch's 16-bit logits where the forward/backward phase is the
# peak (Qwen2-7B mb 8 at seq 2048: 4.64 GiB; Llama 3.2 3B at seq 4096: 0.98 GiB), less one chunk's 16-bit logits
# (FUSED_CHUNK_BYTES, 256 MiB: session 59 moved the CUDA path onto Liger's cross-entropy kernel, 768- and 1024-token
# chunks, 22 and 4 per micro-batch here) and the head input's gradient (tokens x hidden x 2 bytes); losses equal to
# A's to bf16 rounding; time: the same three head GEMMs per micro-batch, cut into chunks, plus their Python loop.
# If B is no slower, price it (cost/activations.py logits_bytes: one chunk's logits; the loss's kernel time) and let
# the search choose it. First the GPU tests of the fused loss (Liger path, no host synchronisation).
# Predictions (session 59's pricing, RunConditions.fused_head_loss; profiles h100-1gpu-node / h200-1gpu-node, no
# copy slowdowns; A then B): qw7b c40 5.507 / 5.342 s/iter both ways on the H100 node, 5.508 / 5.356 on the H200 one
# (B's chunked head GEMMs +1-14 ms), allocated 36.30 GiB both (its peak is the optimizer step, which the fused loss
# does not touch); l323b c24 3.658 -> 3.663 s/iter (H100 node), 3.613 -> 3.628 (H200 node), allocated
# 22.89 -> 22.36 GiB (the head's backward was its peak).
# Results: bench/results/engine/fused_head_loss_S<n>/ (not bench/results/accuracy/: the report lists such runs apart).
source bench/calls/prefix.sh
prebuild
timeout 90 python3 -m pytest -q -m gpu tests/runtime/test_fused_head_loss.py --basetemp=/tmp/ptfused -p no:cacheprovider \
  > $R/fused_gpu_tests.log 2>&1; echo "rc $?" >> $R/fused_gpu_tests.log
A=bench/results/accuracy
B='"train_script": "bench/engine/fused_head_loss_train.py"'
cat > $R/jobs.json <<JOBS
[{"name": "qw7b-c40-default", "plan": "$A/auto-qw7b-1g-c40-s2048-b16.plan.json", "timeout_s": 130},
 {"name": "qw7b-c40-fused", "plan": "$A/auto-qw7b-1g-c40-s2048-b16.plan.json", "timeout_s": 130, $B},
 {"name": "l323b-c24-default", "plan": "$A/h100n-auto-l323b-1g-c24-s4096-b16-s58.plan.json", "timeout_s": 100},
 {"name": "l323b-c24-fused", "plan": "$A/h100n-auto-l323b-1g-c24-s4096-b16-s58.plan.json", "timeout_s": 100, $B}]
JOBS
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/ab --gpus 1 \
  --budget-s $((${LIMIT:-470} - 5 - SECONDS)) --no-build > $R/ab.log 2>&1; echo "rc $?" >> $R/ab.log
pack
