# Session 10, call 3 (nvidia-h200, 1 GPU). Why the 1-GPU host's offload plans miss (calls 1-2: stock ZeRO-1 + CPU
# Adam under-predicted 8.4-8.6%, mistpipe gpu_swap over-predicted 5.6-6.5%): (a) this 16-core host's CPU Adam curve
# and copy rates (python -m mist_ds.profile --sections cpu_adam,copies; the h200 profile's were measured on the
# 32-core 2-GPU host); (b) adam_paths.py (cpu_adam vs gpu_swap alone); (c) one profiled step of each of call 2's
# llama-2.7b c24 winners (bench/results/engine/executor_compare_llama2.7b_1gpu_c24/{deepspeed,mistpipe}.plan.json).
source bench/calls/prefix.sh
clocklog
prebuild
lscpu > $R/lscpu.txt; free -g >> $R/lscpu.txt
timeout 110 python3 -m mist_ds.profile --out $R/host1g.json --sections cpu_adam,copies --raw-out $R/host1g.raw.json > $R/profile.log 2>&1; echo "rc $?" >> $R/profile.log
timeout 60 python3 bench/engine/adam_paths.py --out $R/adam_paths.json > $R/adam_paths.log 2>&1; echo "rc $?" >> $R/adam_paths.log
pack
D=bench/results/engine/executor_compare_llama2.7b_1gpu_c24
RUN="python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1"
for e in mistpipe deepspeed; do
  echo "$e start $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
  MIST_DS_TRACE_DIR=$R/trace_$e MIST_DS_TRACE_STEP=3 MIST_DS_TRACE_NAME=l27c24-$e timeout 130 $RUN --master_port 2988${#e} \
    bench/runtime/traced_train.py --plan $D/$e.plan.json --ds-config $D/$e.ds_config.json --steps 4 --warmup 2 \
    --report $R/trace_$e/run.json --hardware h200 > $R/trace_$e.log 2>&1; echo "rc $?" >> $R/trace_$e.log
  echo "$e end $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
  for t in $R/trace_$e/*.trace.json.gz; do [ -f "$t" ] && zcat "$t" > /tmp/tr.json && timeout 60 python3 bench/engine/trace_digest.py /tmp/tr.json --out ${t%.trace.json.gz}.digest.json.gz >> $R/trace_$e.log 2>&1; rm -f "$t"; done
  pack
done
