# Session 5 call 3 (nvidia-h200-x2, <= 9.5 min): issue 13's second workload - llama-7b on 2 GPUs capped at 24 GiB,
# the best stock and best mistpipe plans in one call - then a traced ZeRO-1 parity pair with the fastest kernel set
# (issue 14: where the cost model over-credits the fused kernels; unpack with `parity.py unpack --label=-fastest`).
source bench/calls/prefix.sh
prebuild
python3 bench/engine/executor_compare.py --out $R/l7c24 --model llama-7b --gpus 2 --global-batch 32 --seq-len 4096 \
  --memory-gb 24 --hardware h200 --steps 3 --warmup 1 --timeout-s 200 > $R/l7c24.log 2>&1; echo "rc $?" >> $R/l7c24.log
pack
sed -i 's/^AUTO_USES_FASTEST = False/AUTO_USES_FASTEST = True/' mist_ds/config/kernel_picks.py
python3 bench/runtime/parity.py run --out $R/parity --budget-s 150 --configs zero1 --trace --no-build > $R/parity.log 2>&1
pack
