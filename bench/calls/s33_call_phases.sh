# Session 33, call 3 (nvidia-h200, 1 GPU; timeout_s ~480): where the two llama3.2-3b 16 GiB winners (stock ZeRO-3,
# weights + optimizer offloaded, mb 2/4, ga 4, 24/25 of 28 recomputed) lose their 7-8% uncapped (S33-2: 5.346 /
# 5.024 s/iter against 4.916 / 4.641 predicted). bench/runtime/phase_train.py (device synchronised after each
# engine call; forward, backward and engine.step of every micro-batch timed apart), 6 steps after 2 warm-up, on
# the uncapped copies (bench/results/runtime/retries_S33/*-nocap.plan.json), profile h200-1gpu-node.
source bench/calls/prefix.sh
prebuild
D=bench/results/runtime/retries_S33
phased() {  # NAME PORT LIMIT
  MIST_DS_PHASE_OUT=$R/$1 timeout $3 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check \
    --master_addr 127.0.0.1 --master_port $2 bench/runtime/phase_train.py --plan $D/$1.plan.json --steps 6 \
    --warmup 2 --report $R/$1/run.json --hardware h200-1gpu-node > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  pack
}
phased l323b-c16-s8192-b8-nocap 29921 140
phased l323b-c16-s4096-b16-nocap 29922 $((440 - SECONDS))
pack
