# Session 45 prepared this for a later H100 session (nvidia-h100-x1; timeout_s ~230, carry .whl): session 45 had too little device time left to start it; issue 10.
# One repeat of the H100 search winner with the largest time error: h100-auto-l321b-1g-c24-s4096-b16-ds (Llama 3.2 1B,
# 24 GiB, stock ZeRO-3 fetching whole blocks), 2.240 s/iter in S43-1 (b46). Predicted before this call on
# h100-1gpu-node as shipped in session 45: 1.620 s/iter (-27.7% against S43-1; the run is in that profile's fit).
# Near 2.2 s the model misses this plan; near 1.6 s S43-1 was the outlier. 7 steps, 2 warm-up, as run_batch ran it.
source bench/calls/prefix.sh
hostmemlog
P=bench/results/accuracy/h100-auto-l321b-1g-c24-s4096-b16-ds.plan.json
timeout ${LIMIT:-170} python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 \
  --master_port 29651 launch/train.py --plan $P --steps 7 --warmup 2 --report $R/repeat.run.json \
  --hardware h100-1gpu-node > $R/repeat.log 2>&1; echo "rc $?" >> $R/repeat.log
pack
