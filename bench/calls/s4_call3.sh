# Session 4 call 3 (nvidia-h200-x2): a profiled ZeRO-3 + recompute parity pair (issue 10: ZeRO-3 is the worst time
# family; read it with bench/accuracy/trace_compare.py --run); the start-up peak of a ZeRO-3 weight-offload plan
# built under deepspeed.zero.Init vs whole (bench/runtime/zero_init_startup.py); then the rest of the llama7b
# baseline grid with the grid's early stop (issue 10 plan quality).
source bench/calls/prefix.sh
prebuild
python3 bench/runtime/parity.py run --out $R/parity --budget-s 200 --configs zero3-rc --trace --no-build > $R/parity.log 2>&1
pack
P=bench/results/accuracy/l38b-2g-c40-b4-z3-w1-off1-rc32.plan.json
for mode in zero_init whole; do
  timeout 150 python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 --master_port 29781 \
    bench/runtime/zero_init_startup.py --plan $P --build $mode --steps 3 --out $R/startup-l38b-$mode.json > $R/startup-l38b-$mode.log 2>&1
  echo "rc $?" >> $R/startup-l38b-$mode.log
done
pack
python3 bench/baseline/grid.py run --workload llama7b-2g-c78-s4096-b32 --out $R --budget-s 180 --steps 4 --warmup 1 --no-build > $R/grid_l7.log 2>&1
pack
