# Session 30, call 3 (nvidia-h200, 1 GPU; timeout_s 420): the one b24 plan off by more than 5%,
# auto-l13b-1g-c24-s4096-b16 (mistpipe mb1, half the weights and half the optimizer offloaded; predicted 1.496 s/iter,
# ran 1.629 in S30-2: -8.2%): a repeat (launch/train.py, 7 steps) and one profiled step (traced, digested), to tell
# call-to-call spread from a term priced short (bench/accuracy/trace_compare.py, bench/engine/step_timeline.py).
source bench/calls/prefix.sh
clocklog
prebuild
P=bench/results/accuracy/auto-l13b-1g-c24-s4096-b16.plan.json
timeout 120 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port 29931 \
  launch/train.py --plan $P --steps 7 --warmup 2 --report $R/repeat.run.json --hardware h200-1gpu-node > $R/repeat.log 2>&1
echo "rc $?" >> $R/repeat.log
traced l13b-c24 $P 29932 150
pack
