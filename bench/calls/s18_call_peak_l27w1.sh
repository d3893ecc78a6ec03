# Session 18, call 5 (nvidia-h200, 1 GPU, ~5 min; timeout_s 360): issue 10. What is live at the allocated peak of
# the llama-2.7b ZeRO-3 weight-offload plan (l27-1g-c24-s2048-z3-w1-off1-mb2: 0.36 GB over its prediction, -2.5%,
# in S18-4), by allocation site (bench/engine/alloc_frag.py, with tracebacks), beside the bounded twin.
source bench/calls/prefix.sh
prebuild
for c in "l27-1g-c24-s2048-z3-w1-off1-mb2 29886" "l27-1g-c24-s2048-z3-w1-off1-mb2-live 29887"; do
  set -- $c
  timeout 120 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port $2 \
    bench/engine/alloc_frag.py --out $R/$1 --history-from-build --plan bench/results/accuracy/$1.plan.json --steps 2 \
    --warmup 1 --report $R/$1/run.json --hardware h200 > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  pack
done
