# Session 15, nvidia-h200 (1 GPU, ~7 min). (1) The loss GPU test after the compiled chunk gradient became one
# pointwise kernel (S15-2: chunked_compile held 96 MiB where one fp32 chunk is 64). (2) issue 14: S15-3 ran the
# c16 winner (llama-2.7b, every gradient in host sections, mb 1, ga 16) fused 2.5-4% slower than unfused, in
# alternating order, where the model prices no change. One profiled step of each, digested.
source bench/calls/prefix.sh
timeout 100 python3 -m pytest -q -rfE --tb=short -m gpu \
  "tests/runtime/test_gpu_block.py::test_loss_matches_fp32_reference_and_holds_no_fp32_logits" \
  --basetemp=/tmp/pt_loss -p no:cacheprovider > $R/loss_test.log 2>&1
echo "rc $?" >> $R/loss_test.log
pack
prebuild
RUN="python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1"
E=bench/results/engine/executor_compare_llama2.7b_1gpu_c16_node
traced() {  # name script port limit
  MIST_DS_TRACE_DIR=$R/traces MIST_DS_TRACE_STEP=3 MIST_DS_TRACE_NAME=$1 timeout $4 $RUN --master_port $3 \
    $2 --plan $E/mistpipe.plan.json --ds-config $E/mistpipe.ds_config.json --steps 5 --warmup 2 \
    --report $R/$1.profiled-run.json --hardware h200 > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  for t in $R/traces/$1*.trace.json.gz; do [ -f "$t" ] && zcat "$t" > /tmp/tr.json && timeout 90 python3 \
    bench/engine/trace_digest.py /tmp/tr.json --out ${t%.trace.json.gz}.digest.json.gz >> $R/$1.log 2>&1; rm -f "$t"; done
}
mkdir -p $R/traces
traced c16-unfused bench/engine/unfused_wgrad_train.py 29881 170
pack
traced c16-fused bench/runtime/traced_train.py 29882 170
pack
