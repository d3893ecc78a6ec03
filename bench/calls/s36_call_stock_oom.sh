# Session 36, call 2 (nvidia-h200, 1 GPU; timeout_s 420): why the stock winner auto-l323b-1g-c24-s4096-b16-ds
# (Llama 3.2 3B, ZeRO-1, optimizer + gradients offloaded, mb1 ga16, 7 recomputed; predicted 22.87 GiB allocated of
# 24) ran out of memory in S36-1: step 1 peaked at 23.34 GiB allocated (-2.0% under-predicted), step 2 failed
# asking 752 MiB (the tied 128256 x 3072 bf16 embedding's size) with 22.59 GiB allocated and 0.71 GiB cached.
# bench/engine/alloc_frag.py on the same plan at a 32 GiB cap (bench/results/runtime/stock_oom_S36/), history from
# the build: what is live at the allocated peak by allocation site, and the reserved timeline.
source bench/calls/prefix.sh
prebuild
P=auto-l323b-1g-c24-s4096-b16-ds
timeout 240 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port 29551 \
  bench/engine/alloc_frag.py --out $R/$P --history-from-build --plan bench/results/runtime/stock_oom_S36/$P.cap32.plan.json \
  --steps 3 --warmup 1 --report $R/$P/run.json --hardware h200-1gpu-node > $R/$P.log 2>&1; echo "rc $?" >> $R/$P.log
pack
