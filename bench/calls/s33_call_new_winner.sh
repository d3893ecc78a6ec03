# Session 33, call 4 (nvidia-h200, 1 GPU; timeout_s 230, the session's last ~330 s of device time): the search's new
# winner for Llama 3.2 3B at seq 8192, batch 8, 16 GiB (h200-1gpu-node) after this session's boundary term, which moved
# the stock ZeRO-3 plan to 5.136 s/iter: mistpipe mb1 ga8, weights + optimizer offloaded (gpu_swap), 25 of 28 recomputed,
# predicted 4.762 s/iter, peak 15.2 GiB (written before the call). The stock plan ran 5.346-5.447 in S33-2.
# Run: bench/results/runtime/retries_S33/l323b-c16-s8192-b8-mistpipe.S33-4.run.json.
source bench/calls/prefix.sh
D=bench/results/runtime/retries_S33
timeout $((215 - SECONDS)) python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 \
  --master_port 29831 launch/train.py --plan $D/l323b-c16-s8192-b8-mistpipe.plan.json --steps 6 --warmup 2 \
  --report $R/l323b-c16-s8192-b8-mistpipe.S33-4.run.json --hardware h200-1gpu-node > $R/mistpipe.log 2>&1
echo "rc $?" >> $R/mistpipe.log
pack
