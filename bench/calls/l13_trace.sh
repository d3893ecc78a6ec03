# One profiled step of the llama-13b stock winner (ZeRO-3, weights offloaded, optimizer 0.5; measured 27.4 s/iter,
# predicted 16.5): where do the missing 11 s go? Sourced after prefix.sh; output under $R/l13_trace.
P=bench/results/engine/executor_compare_llama13b_2gpu_b/deepspeed.plan.json
MIST_DS_TRACE_DIR=$R/l13_trace MIST_DS_TRACE_STEP=1 MIST_DS_TRACE_NAME=l13_stock timeout ${L13_TRACE_S:-280} \
  python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 --master_port 29771 \
  bench/runtime/traced_train.py --plan $P --steps 2 --warmup 1 --report $R/l13_trace/run.json --hardware h200 \
  > $R/l13_trace.log 2>&1; echo "rc $?" >> $R/l13_trace.log
