# Next session, nvidia-h200 (1 GPU, ~10 min; run with timeout_s 590): issue 14. Session 15 stopped fusing a recomputed block's final linear
# (wgrad.py fuse_weight_gradients: the sink there re-ran its GEMM in every recomputation). What fused weight
# gradients gain on recomputing plans whose gradients are partly on the device (og 0.5), unfused / fused / unfused
# / fused, alternating: the accuracy case l27-1g-c40 (rc 16, ga 8; model: ~12 ms saved) and the c16 (non-node)
# winner (rc 17, ga 16).
source bench/calls/prefix.sh
prebuild
clocklog
A=bench/results/accuracy/l27-1g-c40-s4096-b8-mp-mb1-og05-off05-rc16.plan.json
E=bench/results/engine/executor_compare_llama2.7b_1gpu_c16
C16='"train_args": ["--ds-config", "'$E'/mistpipe.ds_config.json"]'
UNFUSED='"train_script": "bench/engine/unfused_wgrad_train.py"'
cat > $R/jobs.json <<JOBS
[{"name": "l27c40-unfused-1", "plan": "$A", "steps": 6, "warmup": 2, $UNFUSED},
 {"name": "l27c40-fused-1", "plan": "$A", "steps": 6, "warmup": 2},
 {"name": "l27c40-unfused-2", "plan": "$A", "steps": 6, "warmup": 2, $UNFUSED},
 {"name": "l27c40-fused-2", "plan": "$A", "steps": 6, "warmup": 2},
 {"name": "c16-unfused-1", "plan": "$E/mistpipe.plan.json", "steps": 5, "warmup": 2, $C16, $UNFUSED},
 {"name": "c16-fused-1", "plan": "$E/mistpipe.plan.json", "steps": 5, "warmup": 2, $C16}]
JOBS
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/ab --gpus 1 --budget-s 470 --no-build > $R/ab.log 2>&1
echo "rc $?" >> $R/ab.log
kill %1 2>/dev/null
pack
