# Session 11, call 1 (nvidia-h200, 1 GPU): (a) issue 14 item 3, Liger's SwiGLU in situ. The ops benchmark
# (bench/results/runtime/gpu_bench_ops_h200_2026-11-30T1800.json) measured Liger's SwiGLU faster than the compiled
# one in isolation (llama-7b mb1 0.54 vs 0.81 ms, mb2 0.93 vs 1.25); kernel_picks.py still picks 'compile' (no run
# inside a training step). The llama2.7b-1g plan-quality winner runs compile / liger alternated three times
# (CUDA_ELEMENTWISE['activation'] flipped between runs), SM clocks logged ($R/clocks.csv, runs.txt).
# (b) issue 10: the 1-GPU baseline grid's untried no-checkpointing points (ZeRO-2/3), whatever the budget allows.
# Unpack: RunReports from $X/r/<label>/accuracy_*.json; grid: bench/baseline/grid.py unpack $X/r/grid/baseline_*.json
source bench/calls/prefix.sh
clocklog
prebuild
P=bench/results/plan_quality/llama2.7b-1g-c78-s4096-b16.plan.json
echo "[{\"name\": \"llama2.7b-1g-c78-s4096-b16\", \"plan\": \"$P\"}]" > /tmp/l27.json
one() {  # label activation-impl
  sed -i "s/\"activation\": \"[a-z]*\"/\"activation\": \"$2\"/" mist_ds/config/kernel_picks.py
  grep -n "^CUDA_ELEMENTWISE" mist_ds/config/kernel_picks.py >> $R/runs.txt
  echo "$1 start $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
  python3 bench/accuracy/run_batch.py --jobs /tmp/l27.json --out $R/$1 --budget-s 110 --no-build > $R/$1.log 2>&1
  echo "$1 end $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
}
one compile-a compile
one liger-a liger
one compile-b compile
one liger-b liger
one compile-c compile
one liger-c liger
sed -i "s/\"activation\": \"[a-z]*\"/\"activation\": \"compile\"/" mist_ds/config/kernel_picks.py
pack
timeout 250 python3 bench/baseline/grid.py run --workload llama2.7b-1g-c78-s4096-b16 --out $R/grid --budget-s 230 \
  --zero-stages 2,3 --checkpointing off --steps 4 --warmup 1 --no-build > $R/grid.log 2>&1
pack
