# Session 33, call 2 (nvidia-h200, 1 GPU; timeout_s 600): do caching-allocator retries at the cap cost the two
# llama3.2-3b 16 GiB winners (stock ZeRO-3, weights + optimizer offloaded) their time? Each plan capped (as the
# search emitted it) and uncapped (gpu_memory_cap_bytes null, nothing else changed), alternating, in one call:
#   l323b-c16-s8192-b8   predicted 4.916 s/iter both ways; b29 ran it capped at 5.702 (-13.8%) with 39 retries
#   l323b-c16-s4096-b16  predicted 4.641 s/iter both ways; b23 ran it capped at 5.081 (-8.7%) with 31 retries
# 6 steps after 2 warm-up each, profile h200-1gpu-node. Runs: bench/results/runtime/retries_S33/<plan>.S33-2.run.json.
source bench/calls/prefix.sh
clocklog
prebuild
D=bench/results/runtime/retries_S33
one() {  # one NAME LIMIT PORT
  echo "$1 start $(date +%s.%N)" >> $R/windows.log
  timeout $2 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port $3 \
    launch/train.py --plan $D/$1.plan.json --steps 6 --warmup 2 --report $R/$1.S33-2.run.json --hardware h200-1gpu-node \
    > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  echo "$1 end $(date +%s.%N)" >> $R/windows.log
  pack
}
one l323b-c16-s8192-b8 150 29811
one l323b-c16-s8192-b8-nocap 130 29812
one l323b-c16-s4096-b16-nocap 120 29813
one l323b-c16-s4096-b16 $((590 - SECONDS)) 29814
kill $(jobs -p) 2>/dev/null; pack
