# Session 9, call 5 (nvidia-h200, 1 GPU, the last ~4 min of device time): the first run of mistpipe's default d2h
# bound (4 offloaded blocks). A hand-edited 1-GPU llama-2.7b mistpipe plan (autotune --executors mistpipe at 16 GiB,
# then 14 recomputed + 6 offloaded blocks, cap 18 GiB): predicted 2.916 s/iter. No prebuild (torch AdamW, gpu_swap).
source bench/calls/prefix.sh
clocklog
P=bench/results/engine/l27_1g_actq/mistpipe_act6_q4.plan.json
timeout 100 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port 29861 \
  launch/train.py --plan $P --steps 5 --warmup 2 --report $R/q4/run.json --hardware h200 > $R/q4.log 2>&1; echo "rc $?" >> $R/q4.log
pack
