# Next session, nvidia-h200 (1 GPU, ~8 min): issue 14. S14-4's one-call A/B of fused weight gradients on the 1-GPU
# node's c16 winner (llama-2.7b, half of each block's gradients in host sections) had fused 2.2% slower, but the
# runs were noisy (host steal 10-30x in the fused run) and the model prices no difference (copy-bound backward).
# Alternating order, unfused / fused / unfused / fused, in one call: bench/results/engine/README.md (session 14).
source bench/calls/prefix.sh
prebuild
clocklog
E=bench/results/engine/executor_compare_llama2.7b_1gpu_c16_node
ARGS='"steps": 6, "warmup": 2, "train_args": ["--ds-config", "'$E'/mistpipe.ds_config.json"]'
UNFUSED='"train_script": "bench/engine/unfused_wgrad_train.py"'
cat > $R/jobs.json <<JOBS
[{"name": "c16-unfused-1", "plan": "$E/mistpipe.plan.json", $ARGS, $UNFUSED},
 {"name": "c16-fused-1", "plan": "$E/mistpipe.plan.json", $ARGS},
 {"name": "c16-unfused-2", "plan": "$E/mistpipe.plan.json", $ARGS, $UNFUSED},
 {"name": "c16-fused-2", "plan": "$E/mistpipe.plan.json", $ARGS}]
JOBS
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/ab --gpus 1 --budget-s 380 --no-build > $R/ab.log 2>&1
echo "rc $?" >> $R/ab.log
kill %1 2>/dev/null
pack
