# Session 35, call 4 (nvidia-h200, 1 GPU; timeout_s 480):
# 1. what is live at the allocated peak of auto-qw7b-1g-c40-s2048-b16 (b33, S35-3: mistpipe mb8 ga2, every weight
#    and the optimizer offloaded; allocated 39.35 GiB of its 40 GiB cap against 37.08 predicted, -5.8%):
#    bench/engine/alloc_frag.py, 1 warm-up + 2 steps, history from the build;
# 2. batch b34-1gpu-new-families, the b33 plan its budget left out: auto-qw7b-1g-c78-s4096-b16, predicted 6.77 s/iter,
#    peak 55.2 GiB, host 87 GiB (mistpipe mb1 ga16, optimizer offloaded, gpu_swap), commit 89e7159.
source bench/calls/prefix.sh
P=auto-qw7b-1g-c40-s2048-b16
timeout 230 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port 29533 \
  bench/engine/alloc_frag.py --out $R/$P --history-from-build --plan bench/results/accuracy/$P.plan.json --steps 3 \
  --warmup 1 --report $R/$P/run.json --hardware h200-1gpu-node > $R/$P.log 2>&1; echo "rc $?" >> $R/$P.log
pack
python3 bench/accuracy/run_batch.py --batch b34-1gpu-new-families --skip-existing --out $R/b34 --gpus 1 --budget-s $((440 - SECONDS)) --no-build > $R/b34.log 2>&1
echo "rc $?" >> $R/b34.log
pack
