# Session 17, nvidia-h200 (1 GPU, ~3 min; timeout_s 240): issue 10. s16_next_peak_sites.sh's first run again (S17-2
# recorded the allocator history without tracebacks: context None), now with context "alloc": what is live at the
# allocated peak of gpt-1.3b ZeRO-3 with weights and optimizer offloaded (0.86 GiB over the model), by site.
source bench/calls/prefix.sh
prebuild
n=g13-1g-c24-s2048-z3-w1-off1-mb2
timeout 130 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port 29881 \
  bench/engine/alloc_frag.py --out $R/$n --history-from-build --plan bench/results/accuracy/$n.plan.json --steps 2 \
  --warmup 1 --report $R/$n/run.json --hardware h200 > $R/$n.log 2>&1; echo "rc $?" >> $R/$n.log
pack
