# Session 11, call 2 (nvidia-h200, 1 GPU). Call 1 (s11_call_swiglu.sh) ran without liger-kernel on the machine (the
# wheelhouse lacked it: every liger run failed at import, the compiled runs took the 'chunked_compile' loss); the
# wheelhouse now carries liger-kernel 0.8.5. (a) The same in-situ SwiGLU comparison, compile / liger alternated
# twice, the loss 'liger' in all. (b) The 1-GPU baseline grid's checkpointing points, ZeRO-0/1, what the budget allows.
source bench/calls/prefix.sh
python3 -c "import liger_kernel, sys; print('liger_kernel', liger_kernel.__file__)" >> $R/machine.txt 2>&1
clocklog
prebuild
P=bench/results/plan_quality/llama2.7b-1g-c78-s4096-b16.plan.json
echo "[{\"name\": \"llama2.7b-1g-c78-s4096-b16\", \"plan\": \"$P\"}]" > /tmp/l27.json
one() {  # label activation-impl
  sed -i "s/\"activation\": \"[a-z]*\"/\"activation\": \"$2\"/" mist_ds/config/kernel_picks.py
  grep -n "^CUDA_ELEMENTWISE" mist_ds/config/kernel_picks.py >> $R/runs.txt
  echo "$1 start $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
  python3 bench/accuracy/run_batch.py --jobs /tmp/l27.json --out $R/$1 --budget-s 100 --no-build > $R/$1.log 2>&1
  echo "$1 end $(date -u +%Y/%m/%d\ %H:%M:%S.%N)" >> $R/runs.txt
}
one liger-a liger
one compile-a compile
one liger-b liger
one compile-b compile
sed -i "s/\"activation\": \"[a-z]*\"/\"activation\": \"compile\"/" mist_ds/config/kernel_picks.py
pack
timeout 250 python3 bench/baseline/grid.py run --workload llama2.7b-1g-c78-s4096-b16 --out $R/grid --budget-s 235 \
  --zero-stages 0,1 --checkpointing on --steps 4 --warmup 1 --no-build > $R/grid.log 2>&1
pack
