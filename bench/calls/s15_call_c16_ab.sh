# Session 15, nvidia-h200 (1 GPU, ~4.5 min, the session's last 400 s): c16 A/B after fuse_weight_gradients stopped
# fusing a recomputed block's final linear (S15-4: the sink there re-ran its GEMM in every recomputation).
# Fused first this time (S15-3 ran unfused first), then unfused.
source bench/calls/prefix.sh
prebuild
clocklog
E=bench/results/engine/executor_compare_llama2.7b_1gpu_c16_node
ARGS='"steps": 5, "warmup": 2, "train_args": ["--ds-config", "'$E'/mistpipe.ds_config.json"]'
UNFUSED='"train_script": "bench/engine/unfused_wgrad_train.py"'
cat > $R/jobs.json <<JOBS
[{"name": "c16-fused-3", "plan": "$E/mistpipe.plan.json", $ARGS},
 {"name": "c16-unfused-3", "plan": "$E/mistpipe.plan.json", $ARGS, $UNFUSED}]
JOBS
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/ab --gpus 1 --budget-s 170 --no-build > $R/ab.log 2>&1
echo "rc $?" >> $R/ab.log
kill %1 2>/dev/null
pack
