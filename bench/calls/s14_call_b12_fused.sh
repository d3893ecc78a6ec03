# Session 14, call 2 (nvidia-h200, 1 GPU, ~9.5 min): issues 10, 13 and 14. The engine with fused weight-gradient
# accumulation on by default (stage.py FUSED_WGRAD) over batch b12-1gpu-mistpipe, the stale llama-2.7b b12 plan
# (its S13-2 run predates the d2h ring and even chunks) first, then the c24 winner of the 1-GPU node (the
# S14-1 A/B's plan: a scored run of the fused default), then the other b12 plans. Every run records
# RunReport.fused_wgrad.
source bench/calls/prefix.sh
prebuild
clocklog
A=bench/results/accuracy
E=bench/results/engine/executor_compare_llama2.7b_1gpu_c24
cat > $R/jobs.json <<JOBS
[{"name": "l27-1g-c40-s4096-b8-mp-mb1-og05-off05-rc16", "plan": "$A/l27-1g-c40-s4096-b8-mp-mb1-og05-off05-rc16.plan.json", "steps": 6, "warmup": 2},
 {"name": "g13-1g-c16-s2048-mp-mb2-off1", "plan": "$A/g13-1g-c16-s2048-mp-mb2-off1.plan.json", "steps": 10, "warmup": 2},
 {"name": "c24-fused", "plan": "$E/mistpipe.plan.json", "steps": 6, "warmup": 2, "train_args": ["--ds-config", "$E/mistpipe.ds_config.json"]},
 {"name": "g13-1g-c16-s2048-mp-mb2-og1-off1", "plan": "$A/g13-1g-c16-s2048-mp-mb2-og1-off1.plan.json", "steps": 10, "warmup": 2},
 {"name": "g13-1g-c16-s2048-mp-mb2-w05-off1", "plan": "$A/g13-1g-c16-s2048-mp-mb2-w05-off1.plan.json", "steps": 10, "warmup": 2},
 {"name": "g27-1g-c24-s2048-mp-mb2-w1-og1-off1-rc32", "plan": "$A/g27-1g-c24-s2048-mp-mb2-w1-og1-off1-rc32.plan.json", "steps": 5, "warmup": 2},
 {"name": "l13b-1g-c24-s2048-mp-mb4-act12-off1", "plan": "$A/l13b-1g-c24-s2048-mp-mb4-act12-off1.plan.json", "steps": 9, "warmup": 2}]
JOBS
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/b12 --gpus 1 --budget-s 430 --no-build > $R/b12.log 2>&1
echo "rc $?" >> $R/b12.log
kill %1 2>/dev/null
pack
