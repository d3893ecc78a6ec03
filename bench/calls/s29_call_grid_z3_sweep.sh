# Session 29, call 2 (nvidia-h200, 1 GPU): the GEMM duty-cycle sweeps (bench/runtime/gemm_duty.py --sweep, Llama 3.2 1B
# and llama-7b block shapes at 4096 tokens), then the llama7b-1g-c78 baseline grid's ZeRO-3 + CPU Adam points (both
# ZeRO-2 offload points of call 1 were killed by signal 9: host memory); `free -m` every 5 s to see the host side.
# Unpack: python bench/baseline/grid.py unpack $X/r/baseline_llama7b-1g-c78-s4096-b16.json
source bench/calls/prefix.sh
clocklog
(while true; do echo "$(date -u +%T) $(free -m | awk '/Mem:/{print $3, $7}')"; sleep 5; done) > $R/free.log 2>&1 &
prebuild & BUILD=$!
timeout 100 python3 bench/runtime/gemm_duty.py --sweep --rounds 1 --repeats 200 --out $R/gemm_sweep_l321b.json > $R/gemm_sweep.log 2>&1
timeout 100 python3 bench/runtime/gemm_duty.py --sweep --rounds 1 --repeats 100 --model llama-7b --out $R/gemm_sweep_l7.json >> $R/gemm_sweep.log 2>&1
echo "rc $?" >> $R/gemm_sweep.log
wait $BUILD
python3 bench/baseline/grid.py run --workload llama7b-1g-c78-s4096-b16 --out $R --budget-s 340 --no-build --steps 4 --warmup 1 --zero-stages 3 --micro-batches 8,4 > $R/grid.log 2>&1
echo "rc $?" >> $R/grid.log
pack
