# Session 6 call 4 (nvidia-h200-x2, <= 9.5 min): ZeRO-3 prefetch depth (bench/accuracy/ZERO3_EXPOSED.md finding 3:
# reduce-scatters and all-gathers share one NCCL communicator, and the 5e7-element prefetch bucket is a quarter of
# a Llama-7B block). Two committed ZeRO-3 plans, each at stage3_prefetch_bucket_size 5e7 (today's) and 2e8 (one
# block), same call. A win moves DeepSpeedConstants.stage3_prefetch_elements (mist_ds/config/executors.py) and the
# cost model's fetch-ahead with it (issue 14: runtime speed; issue 10: the ZeRO-3 family's error).
source bench/calls/prefix.sh
prebuild
A=bench/results/accuracy
run_plan() {  # NAME PLAN PORT LIMIT
  timeout $4 python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 --master_port $3 \
    launch/train.py --plan $2 --steps 4 --warmup 1 --report $R/$1.run.json --hardware h200 > $R/$1.log 2>&1
  echo "rc $?" >> $R/$1.log; grep "ok: median" $R/$1.log; pack
}
for prefetch in 50_000_000 200_000_000; do
  sed -i "s/stage3_prefetch_elements: int = [0-9_]*/stage3_prefetch_elements: int = $prefetch/" mist_ds/config/executors.py
  run_plan z3-mb1-rc0-pf$prefetch $A/l7-2g-c78-z3-mb1-rc0.plan.json $((29900 + ${#prefetch})) 110
  run_plan z3-mb2-rc32-pf$prefetch $A/l7-2g-c78-z3-mb2-rc32.plan.json $((29910 + ${#prefetch})) 110
done
git checkout mist_ds/config/executors.py 2>/dev/null || true
# the interference factors again, every rank starting each set together (profile/interference.py barrier; the
# shipped h200 pair h2d+d2h, 1.66 / 1.08, is milder than pcie_share and the swap traces show): take its
# 'interference' into mist_ds/profiles/h200.json with provenance if the pair factors move
timeout 150 python3 -m mist_ds.profile --sections interference,copies --out $R/h200_interference.json --fallback h200 \
  --host-memory-gib 256 > $R/profile.log 2>&1; echo "rc $?" >> $R/profile.log
pack
# mistpipe's per-block hook host time with real CUDA calls (bench/engine/host_hooks.py; the CPU run leaves out every
# stream/event call and launch): the per-block host term the mistpipe cost model lacks (STEP_TIMELINE.md section 6)
timeout 120 python3 bench/engine/host_hooks.py --device cuda --out $R/host_hooks_cuda.json > $R/host_hooks_cuda.log 2>&1
echo "rc $?" >> $R/host_hooks_cuda.log
pack
