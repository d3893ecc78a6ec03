# Session 13, call 4 (nvidia-h200, 1 GPU, ~8.5 min): issues 10 and 13, after two engine fixes found by S13-3:
# tail gradients go to the host through a two-buffer device ring (optimizer.py _send_eager; S13-3's all-on-host
# gpt-2.7b plan held 10.6 GB of freed-but-pending fp32 copies) and the swap cuts tails into nearly equal chunks
# (swapadam.py even_chunk; S13-3's gpt-1.3b trace: the link idle 94 of 410 ms behind tiny last chunks).
# (a) accuracy batch b12-1gpu-mistpipe again (its S13-2 runs had neither fix); (b) its first plan through
# bench/engine/fixed_chunks_train.py (the chunking of before, same call: the A side); (c) the 1-GPU c16 winner
# (host gradient sections: the ring) through launch/train.py.
source bench/calls/prefix.sh
prebuild
clocklog
python3 bench/accuracy/run_batch.py --batch b12-1gpu-mistpipe --out $R/b12 --budget-s 330 --no-build > $R/b12.log 2>&1
echo "rc $?" >> $R/b12.log
pack
A=bench/results/accuracy
E=bench/results/engine/executor_compare_llama2.7b_1gpu_c16
cat > $R/ab_jobs.json <<JOBS
[{"name": "g13-1g-c16-s2048-mp-mb2-off1.fixed-chunks", "plan": "$A/g13-1g-c16-s2048-mp-mb2-off1.plan.json", "steps": 10, "warmup": 2,
  "train_script": "bench/engine/fixed_chunks_train.py"},
 {"name": "c16-ring", "plan": "$E/mistpipe.plan.json", "steps": 6, "warmup": 2, "train_args": ["--ds-config", "$E/mistpipe.ds_config.json"]}]
JOBS
python3 bench/accuracy/run_batch.py --jobs $R/ab_jobs.json --out $R/ab --gpus 1 --budget-s 150 --no-build > $R/ab.log 2>&1
echo "rc $?" >> $R/ab.log
kill %1 2>/dev/null
pack
