# Session 7, call 3 (nvidia-h200, 1 GPU), issue 14 with 10: the compiled RoPE now runs on the fused q|k|v
# projection (runtime/kernels.py split_qkv / torch_qkv_rope), after S7-2's profiled step showed the old one
# (compiled rotation of transposed views) paying five strided copies per block backward. 1. the GPU tests of
# the block's kernels (compiled = torch numerics; no copy / cat kernel in the backward); 2. one profiled step
# of the llama2.7b-1g plan-quality winner with the fastest set; 3. the same plan untraced (S7-1: 2.473 s/iter
# with the old kernel, 2.873 eager); 4. bench/runtime/gpu_bench.py's ops section (the fit of COMPILED_FRACTION
# for the new kernel); 5. the plan with the eager set again, for a same-call ratio. Caps sum to 705 s; expected
# ~400 s (prebuild ~80).
source bench/calls/prefix.sh
prebuild
RUN="python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1"
P=bench/results/plan_quality/llama2.7b-1g-c78-s4096-b16.plan.json
timeout 120 python3 -m pytest -q -m gpu tests/runtime/test_gpu_block.py -k "compiled_rope or fused_kernels_match" \
  --basetemp=/tmp/ptgpu -p no:cacheprovider > $R/gpu_tests.log 2>&1; echo "rc $?" >> $R/gpu_tests.log
pack
sed -i 's/^AUTO_USES_FASTEST = False/AUTO_USES_FASTEST = True/' mist_ds/config/kernel_picks.py
mkdir -p $R/traces
MIST_DS_TRACE_DIR=$R/traces MIST_DS_TRACE_STEP=4 MIST_DS_TRACE_NAME=l27pq-qkvrope timeout 85 $RUN --master_port 29871 \
  bench/runtime/traced_train.py --plan $P --steps 5 --warmup 2 --report $R/l27pq-qkvrope.profiled-run.json --hardware h200 \
  > $R/l27pq-qkvrope.log 2>&1; echo "rc $?" >> $R/l27pq-qkvrope.log
pack
cat > /tmp/pq_l27.json <<'J'
[{"name": "llama2.7b-1g-c78-s4096-b16", "plan": "bench/results/plan_quality/llama2.7b-1g-c78-s4096-b16.plan.json"}]
J
timeout 90 python3 bench/accuracy/run_batch.py --jobs /tmp/pq_l27.json --out $R/pq_fastest --budget-s 85 --no-build > $R/pq_fastest.log 2>&1
echo "rc $?" >> $R/pq_fastest.log
pack
timeout 130 python3 bench/runtime/gpu_bench.py --out $R/gpu_bench_ops.json --sections ops --budget-s 110 > $R/gpu_bench.log 2>&1
echo "rc $?" >> $R/gpu_bench.log
pack
sed -i 's/^AUTO_USES_FASTEST = True/AUTO_USES_FASTEST = False/' mist_ds/config/kernel_picks.py
timeout 80 python3 bench/accuracy/run_batch.py --jobs /tmp/pq_l27.json --out $R/pq_eager --budget-s 75 --no-build > $R/pq_eager.log 2>&1
echo "rc $?" >> $R/pq_eager.log
pack
