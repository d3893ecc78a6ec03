# Session 35, call 6 (nvidia-h200, 1 GPU; what is left of the session's device time, ~130 s of command): where the
# reserved memory of a 7B, 152k-vocabulary mistpipe stage goes. auto-qw7b-1g-c78-s4096-b16 (b34, S35-4) reserved
# 5.6 GiB above its allocated peak against ~1 GiB predicted: bench/engine/alloc_frag.py, 1 warm-up + 1 timed step,
# history from the build (timeline of allocated / reserved / pending, the segment snapshot at the reserved peak).
source bench/calls/prefix.sh
P=auto-qw7b-1g-c78-s4096-b16
timeout 125 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port 29534 \
  bench/engine/alloc_frag.py --out $R/$P --history-from-build --plan bench/results/accuracy/$P.plan.json --steps 2 \
  --warmup 1 --report $R/$P/run.json --hardware h200-1gpu-node > $R/$P.log 2>&1; echo "rc $?" >> $R/$P.log
pack
