# Session 30, call 4 (nvidia-h200, 1 GPU; timeout_s 270): does the node's host speed move together across cores, and
# does pinning the training process steady a host-paced plan? Sidecars (bench/runtime/host_speed_log.py) time the
# RunReport's host probe every second on cores 0, 4, 12 and 15 while the most host-bound suite plan,
# l13b-1g-c40-s2048-z3-mb4-rc24 (ZeRO-3 per submodule, dp 1; 0.55-1.015 s/iter over sessions 8-22,
# bench/accuracy/HOST_JITTER.md), runs four times: unpinned, pinned to cores 8-9 (taskset), unpinned, pinned.
# Each run's start and end (unix time) go to $R/windows.log to cut the sidecars' lines per run.
source bench/calls/prefix.sh
timeout 120 python3 -c "from deepspeed.ops.op_builder import FusedAdamBuilder; FusedAdamBuilder().load()" > $R/build.log 2>&1
for c in 0 4 12 15; do python3 bench/runtime/host_speed_log.py --core $c --interval 1 --out $R/host_speed.core$c.log & done
P=bench/results/accuracy/l13b-1g-c40-s2048-z3-mb4-rc24.plan.json
one() {  # NAME PORT [taskset cores]
  pin=(); [ -n "$3" ] && pin=(taskset -c $3)
  echo "$1 start $(date +%s.%N)" >> $R/windows.log
  timeout 55 "${pin[@]}" python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 \
    --master_port $2 launch/train.py --plan $P --steps 10 --warmup 2 --report $R/$1.run.json --hardware h200-1gpu-node \
    > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  echo "$1 end $(date +%s.%N)" >> $R/windows.log
}
one free1 29941
one pin1 29942 8,9
one free2 29943
one pin2 29944 8,9
pack
