# Session 13, call 1 (nvidia-h200, 1 GPU, ~9 min): issue 13. mistpipe's host buffers are now exact-size pages
# locked with cudaHostRegister (runtime/mistpipe/hostmem.py) instead of torch's power-of-two pinned allocator, and
# the GPU swap keeps a host fp32 gradient only over host gradient sections (optimizer.py UnitShard lean_grads).
# A/B in one call on the 1-GPU node's c24 gpu_swap winner: launch/train.py against bench/engine/torch_pinned_train.py
# (the allocation of before), then c16 (half of its gradients in host sections) through launch/train.py; first the
# hostmem GPU test (the buffers are pinned and copy asynchronously).
source bench/calls/prefix.sh
prebuild
timeout 90 python3 -m pytest -q -m gpu tests/runtime/test_hostmem.py > $R/gpu_tests.log 2>&1
echo "rc $?" >> $R/gpu_tests.log
E=bench/results/engine
job() { echo "{\"name\": \"$1-$2\", \"plan\": \"$E/executor_compare_llama2.7b_1gpu_$1/mistpipe.plan.json\", \"steps\": 6, \"warmup\": 2,
  \"train_args\": [\"--ds-config\", \"$E/executor_compare_llama2.7b_1gpu_$1/mistpipe.ds_config.json\"]$3}"; }
OLD=', "train_script": "bench/engine/torch_pinned_train.py"'
{ echo "["; job c24 registered; echo ","; job c24 torch_pinned "$OLD"; echo ","; job c16 registered; echo "]"; } > $R/hostmem_jobs.json
clocklog
python3 bench/accuracy/run_batch.py --jobs $R/hostmem_jobs.json --out $R/hostmem --gpus 1 --budget-s 420 --no-build > $R/hostmem.log 2>&1
echo "rc $?" >> $R/hostmem.log
kill %1 2>/dev/null
pack
