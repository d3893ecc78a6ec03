# Next session, nvidia-h200 (1 GPU, ~5 min): issue 10. Session 14 re-priced stock ZeRO-0/1 from DeepSpeed 0.19.8's code
# (cost/work.py): ZeRO-1 reduces once per step, at the accumulation boundary, and autograd adds each fresh gradient
# into .grad on every other micro-batch; ZeRO-0's DDP path accumulates the same way. One profiled step of each
# 1-GPU case (grad accumulation 4) shows it directly: 3 x (blocks x weights) bf16 adds and one pass of bucket
# copies for ZeRO-1 (not four), and the same adds for ZeRO-0. Digest: bench/engine/trace_digest.py.
source bench/calls/prefix.sh
prebuild
RUN="python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1"
traced() {  # name plan port limit
  MIST_DS_TRACE_DIR=$R/traces MIST_DS_TRACE_STEP=4 MIST_DS_TRACE_NAME=$1 timeout $4 $RUN --master_port $3 \
    bench/runtime/traced_train.py --plan $2 --steps 5 --warmup 2 --report $R/$1.profiled-run.json --hardware h200 \
    > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  for t in $R/traces/*.trace.json.gz; do [ -f "$t" ] && zcat "$t" > /tmp/tr.json && timeout 60 python3 \
    bench/engine/trace_digest.py /tmp/tr.json --out ${t%.trace.json.gz}.digest.json.gz >> $R/$1.log 2>&1; rm -f "$t"; done
}
mkdir -p $R/traces
traced l27-z1-ga4 bench/results/accuracy/l27-1g-c78-b4-z1-mb1.plan.json 29871 100
pack
traced g13-z0-ga4 bench/results/accuracy/g13-1g-c40-s2048-z0-mb2.plan.json 29872 80
pack
