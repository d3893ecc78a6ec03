# Session 29, call 3 (nvidia-h200, 1 GPU): the power controller's averaging window (bench/runtime/gemm_duty.py
# --window: Llama 3.2 1B block GEMMs in bursts of half a period, idle the other half), then the llama7b-1g-c78
# baseline grid's next ZeRO-3 + CPU Adam points (mb 8 ran in S29-2: 14.643 s/iter); `free -m` every 5 s.
# Unpack: python bench/baseline/grid.py unpack $X/r/baseline_llama7b-1g-c78-s4096-b16.json
source bench/calls/prefix.sh
clocklog
(while true; do echo "$(date -u +%T) $(free -m | awk '/Mem:/{print $3, $7}')"; sleep 5; done) > $R/free.log 2>&1 &
prebuild & BUILD=$!
timeout 90 python3 bench/runtime/gemm_duty.py --window --repeats 200 --out $R/gemm_window_l321b.json > $R/gemm_window.log 2>&1
echo "rc $?" >> $R/gemm_window.log
wait $BUILD
python3 bench/baseline/grid.py run --workload llama7b-1g-c78-s4096-b16 --out $R --budget-s 330 --no-build --steps 4 --warmup 1 --zero-stages 3 --micro-batches 4,2,1 > $R/grid.log 2>&1
echo "rc $?" >> $R/grid.log
pack
