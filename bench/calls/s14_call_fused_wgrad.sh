# Session 14, call 1 (S14-1; written in session 13 as s13_next_fused_wgrad.sh; nvidia-h200, 1 GPU, ~5 min): issue 14. mistpipe's fused weight-gradient accumulation (runtime/wgrad.py,
# build_mistpipe_engine fused_wgrad=True; off by default) against the engine's default, A/B back to back in one call,
# on the 1-GPU node's c24 winner (llama-2.7b, micro-batch 1, grad accumulation 16: 15 accumulations per weight and
# step) and the gpt-1.3b b12 plan (micro-batch 2, grad accumulation 4). Estimated gain ~2% on c24
# (bench/results/runtime/MFU_GAP.md); if it pays, make it the default and price it (cost/mistpipe.py accumulate).
# It ran at commit 5c4e41f, before the default flipped: its B side bench/engine/fused_wgrad_train.py is now
# bench/engine/unfused_wgrad_train.py (the A side of the other direction). Results: bench/results/engine/fused_wgrad_S14/.
source bench/calls/prefix.sh
prebuild
clocklog
E=bench/results/engine/executor_compare_llama2.7b_1gpu_c24
A=bench/results/accuracy/g13-1g-c16-s2048-mp-mb2-off1
FUSED='"train_script": "bench/engine/fused_wgrad_train.py"'
cat > $R/jobs.json <<JOBS
[{"name": "c24-default", "plan": "$E/mistpipe.plan.json", "steps": 6, "warmup": 2, "train_args": ["--ds-config", "$E/mistpipe.ds_config.json"]},
 {"name": "c24-fused", "plan": "$E/mistpipe.plan.json", "steps": 6, "warmup": 2, "train_args": ["--ds-config", "$E/mistpipe.ds_config.json"], $FUSED},
 {"name": "g13-default", "plan": "$A.plan.json", "steps": 10, "warmup": 2},
 {"name": "g13-fused", "plan": "$A.plan.json", "steps": 10, "warmup": 2, $FUSED}]
JOBS
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/ab --gpus 1 --budget-s 420 --no-build > $R/ab.log 2>&1
echo "rc $?" >> $R/ab.log
kill %1 2>/dev/null
pack
