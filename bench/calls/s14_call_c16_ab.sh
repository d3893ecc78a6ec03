# Session 14, call 4 (nvidia-h200, 1 GPU, ~7 min): issue 14. S14-3 ran the 1-GPU node's c16 winner (llama-2.7b,
# half of each block's gradients in host sections) at 3.778 s/iter with fused weight gradients, against 3.654 in
# S13-4 (another call). A/B in one call: unfused (bench/engine/unfused_wgrad_train.py) then the default (fused).
# Then the gpu-marked tests outside the engine's, verbose (S14-3's run of them timed out with failures unnamed).
source bench/calls/prefix.sh
prebuild
clocklog
E=bench/results/engine/executor_compare_llama2.7b_1gpu_c16_node
UNFUSED='"train_script": "bench/engine/unfused_wgrad_train.py"'
cat > $R/jobs.json <<JOBS
[{"name": "c16-unfused", "plan": "$E/mistpipe.plan.json", "steps": 6, "warmup": 2, "train_args": ["--ds-config", "$E/mistpipe.ds_config.json"], $UNFUSED},
 {"name": "c16-fused", "plan": "$E/mistpipe.plan.json", "steps": 6, "warmup": 2, "train_args": ["--ds-config", "$E/mistpipe.ds_config.json"]}]
JOBS
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/ab --gpus 1 --budget-s 180 --no-build > $R/ab.log 2>&1
echo "rc $?" >> $R/ab.log
kill %1 2>/dev/null
pack
T="tests/runtime/test_wgrad.py tests/runtime/test_mistpipe_gpu.py tests/runtime/test_hostmem.py"
timeout 120 python3 -m pytest -v -p no:xdist --tb=line -m gpu tests/ $(for t in $T; do echo --deselect $t; done) \
  --basetemp=/tmp/ptgpu2 -p no:cacheprovider > $R/gpu_tests_rest.log 2>&1
echo "rc $?" >> $R/gpu_tests_rest.log
pack
