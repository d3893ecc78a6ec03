# Session 14, call 3 (nvidia-h200, 1 GPU, ~6 min): issues 13 and 14. Every gpu-marked test with the fused
# weight-gradient default (stage.py FUSED_WGRAD; the new bf16 accuracy test of runtime/wgrad.py among them),
# then the 1-GPU node's c16 winner (llama-2.7b, half of each block's gradients in host sections: only the
# device section's linears take the fused path) with the new default, for the record beside its S10 run.
source bench/calls/prefix.sh
prebuild
T="tests/runtime/test_wgrad.py tests/runtime/test_mistpipe_gpu.py tests/runtime/test_hostmem.py"
timeout 120 python3 -m pytest -q -m gpu $T --basetemp=/tmp/ptgpu -p no:cacheprovider > $R/gpu_tests.log 2>&1
echo "rc $?" >> $R/gpu_tests.log
timeout 150 python3 -m pytest -q -m gpu tests/ $(for t in $T; do echo --deselect $t; done) --basetemp=/tmp/ptgpu2 \
  -p no:cacheprovider > $R/gpu_tests_rest.log 2>&1
echo "rc $?" >> $R/gpu_tests_rest.log
clocklog
E=bench/results/engine/executor_compare_llama2.7b_1gpu_c16_node
cat > $R/jobs.json <<JOBS
[{"name": "c16-fused", "plan": "$E/mistpipe.plan.json", "steps": 6, "warmup": 2, "train_args": ["--ds-config", "$E/mistpipe.ds_config.json"]}]
JOBS
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/c16 --gpus 1 --budget-s 150 --no-build > $R/c16.log 2>&1
echo "rc $?" >> $R/c16.log
kill %1 2>/dev/null
pack
