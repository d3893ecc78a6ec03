# Next session, nvidia-h200-x2 (2 GPUs, ~4 min; timeout_s 300): issue 10. Session 18 priced ZeRO-3's first bucket
# reduction as a peak phase (cost/stage.py phase_parts: the reduce-scatter's flat bucket copy, and with the optimizer
# offloaded the first bucket's largest gradient partition and its fp64 norm copy), found on a 1-GPU run
# (bench/results/runtime/zero3_offload_peak_S18/). On the held-out 2-GPU run l7-2g-c40-b4-z3-off05-rc32 it now
# over-predicts allocated memory by 2.0% (0.3% before): what is live at that run's allocated peak, by site, on both ranks.
source bench/calls/prefix.sh
prebuild
C=l7-2g-c40-b4-z3-off05-rc32
timeout 200 python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 --master_port 29889 \
  bench/engine/alloc_frag.py --out $R/$C --history-from-build --plan bench/results/accuracy/$C.plan.json --steps 2 \
  --warmup 1 --report $R/$C/run.json --hardware h200 > $R/$C.log 2>&1; echo "rc $?" >> $R/$C.log
pack
