# Session 5 call 3 (nvidia-h200-x2, <= 10 min; the parity pair last, cut first if time runs out): issue 13's second workload - llama-7b on 2 GPUs capped at 24 GiB,
# the best stock and best mistpipe plans in one call - then a traced ZeRO-1 parity pair with the fastest kernel set
# (issue 14: where the cost model over-credits the fused kernels; unpack with `parity.py unpack --label=-fastest`),
# and a profiled step (CPU and GPU activity) of the ZeRO-3 run without recompute the model under-predicts by 14% (issue 10:
# `bench/accuracy/trace_compare.py TRACE bench/results/accuracy/l7-2g-c78-z3-mb1-rc0.plan.json --run RUN`).
source bench/calls/prefix.sh
prebuild
python3 bench/engine/executor_compare.py --out $R/l7c24 --model llama-7b --gpus 2 --global-batch 32 --seq-len 4096 \
  --memory-gb 24 --hardware h200 --steps 3 --warmup 1 --timeout-s 140 > $R/l7c24.log 2>&1; echo "rc $?" >> $R/l7c24.log
pack
MIST_DS_TRACE_DIR=$R/z3trace MIST_DS_TRACE_STEP=2 MIST_DS_TRACE_NAME=l7-z3-rc0 timeout 120 python3 -m deepspeed.launcher.runner \
  --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 --master_port 29791 bench/runtime/traced_train.py \
  --plan bench/results/accuracy/l7-2g-c78-z3-mb1-rc0.plan.json --steps 4 --warmup 2 --report $R/z3trace/l7-z3-rc0.run.json \
  > $R/z3trace.log 2>&1; echo "rc $?" >> $R/z3trace.log
pack
sed -i 's/^AUTO_USES_FASTEST = False/AUTO_USES_FASTEST = True/' mist_ds/config/kernel_picks.py
python3 bench/runtime/parity.py run --out $R/parity --budget-s 120 --configs zero1 --trace --no-build > $R/parity.log 2>&1
pack
