# Session 3 call 1 (nvidia-h200-x2): mistpipe GPU tests, offload variants (issue 13), parity ZeRO-2 (issue 14).
source bench/calls/prefix.sh
prebuild & BUILD=$!
timeout 150 python3 -m pytest -q -m gpu tests/runtime/test_mistpipe_gpu.py tests/cost/test_saved_calls.py > $R/gpu_tests.log 2>&1; echo "rc $?" >> $R/gpu_tests.log
wait $BUILD
timeout 200 python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 \
  bench/engine/mistpipe_offload.py --out $R/offload.json --model gpt-1.3b --hardware h200 \
  --variants none,activations,optimizer,optimizer_swap,all,all_deferred > $R/offload.log 2>&1; echo "rc $?" >> $R/offload.log
pack
python3 bench/runtime/parity.py run --out $R/parity --budget-s 170 --configs zero2 --trace > $R/parity.log 2>&1; echo "rc $?" >> $R/parity.log
rm -rf $R/parity/runs/*/ckpt 2>/dev/null
pack
