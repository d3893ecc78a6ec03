# Session 10, call 5 (nvidia-h200, 1 GPU, the last ~4 min of device time): the c16 mistpipe plan the search picks
# on the node's own profile (h200-1gpu-node; `executor_compare.py ... --memory-gb 16 --hardware h200-1gpu-node
# --plan-only`: ZeRO-0, gradients and optimizer states all on the host, 9 recomputed; predicted 3.73 s/iter, 1.14x
# over S10-1's measured stock winner), a held-out check of that profile. No prebuild (torch AdamW, gpu_swap).
source bench/calls/prefix.sh
D=bench/results/engine/executor_compare_llama2.7b_1gpu_c16_node
timeout 150 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port 29891 \
  launch/train.py --plan $D/mistpipe.plan.json --ds-config $D/mistpipe.ds_config.json --steps 5 --warmup 2 \
  --report $R/run.json --hardware h200-1gpu-node > $R/train.log 2>&1; echo "rc $?" >> $R/train.log
pack
