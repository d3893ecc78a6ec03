# Next session (nvidia-h200-x2, ~9.5 min): the two workloads without a successful baseline point. llama13b-c78:
# ZeRO-3 + CPU Adam + checkpointing at mb 4 (the first wave's best, 20.98 s/iter with another script; ZeRO-2
# offload was killed by signal 9 in S9-3, likely host OOM). llama3-8b-s8192: ZeRO-3 with checkpointing, mb 1 then 2
# (ZeRO 0-2 exceed the cap by DeepSpeed's estimate). Unpack: python bench/baseline/grid.py unpack
# $X/r/baseline_<workload>.json (the z3 bundle for 13b is under $X/r/), then python bench/plan_quality.py report.
source bench/calls/prefix.sh
clocklog
prebuild
free -g > $R/free_before.txt
python3 bench/baseline/grid.py run --workload llama13b-2g-c78-s4096-b32 --out $R --budget-s 260 --no-build --steps 4 --warmup 1 --zero-stages 3 --micro-batches 4 > $R/grid_13b.log 2>&1
echo "rc $?" >> $R/grid_13b.log
dmesg 2>/dev/null | grep -i -E "killed process|out of memory" | tail -5 > $R/dmesg_oom.txt
python3 bench/baseline/grid.py run --workload llama3-8b-2g-c78-s8192-b16 --out $R --budget-s 230 --no-build --steps 4 --warmup 1 --zero-stages 3 --checkpointing on --micro-batches 1,2 > $R/grid_8b.log 2>&1
echo "rc $?" >> $R/grid_8b.log
pack
