# Session 5 call 4 (nvidia-h200-x2, <= 4 min): why the llama-7b 24 GiB mistpipe plan ran 12.70 s where the model says
# 8.08 (S5-3). 1. pcie_share.py: is the host link shared between the node's GPUs (the profile's h2d/d2h rates come
# from one GPU alone; both stages of that plan copy at once)? 2. the same plan with a profiled step (traced_train.py;
# digest with bench/engine/trace_digest.py).
source bench/calls/prefix.sh
timeout 60 python3 bench/engine/pcie_share.py --out $R/pcie_share.json > $R/pcie_share.log 2>&1; echo "rc $?" >> $R/pcie_share.log
pack
P=bench/results/engine/executor_compare_llama7b_2gpu_c24/mistpipe.plan.json
MIST_DS_TRACE_DIR=$R/l7c24trace MIST_DS_TRACE_STEP=2 MIST_DS_TRACE_NAME=l7c24-mistpipe timeout 170 python3 -m deepspeed.launcher.runner \
  --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 --master_port 29821 bench/runtime/traced_train.py \
  --plan $P --steps 3 --warmup 1 --report $R/l7c24trace/run.json --hardware h200 > $R/l7c24trace.log 2>&1; echo "rc $?" >> $R/l7c24trace.log
for t in $R/l7c24trace/*.trace.json.gz; do [ -f "$t" ] && zcat "$t" > /tmp/tr.json && timeout 60 python3 bench/engine/trace_digest.py /tmp/tr.json --out ${t%.trace.json.gz}.digest.json.gz >> $R/l7c24trace.log 2>&1; done
pack
