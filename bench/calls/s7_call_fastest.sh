# Session 7 (nvidia-h200-x2, <= 9.5 min): issue 14 with the fastest kernel set (mist_ds/config/kernel_picks.py
# AUTO_USES_FASTEST flipped on the GPU machine only). 1) the traced ZeRO-1 parity pair bench/accuracy/FUSED_CREDIT.md
# asks for (where the compiled kernels cost more in situ than the benchmark says); 2) the two 7B plan-quality
# winners (gpt6.7b PP2 ZeRO-1 at 53.8% MFU eager, llama7b PP2 at 47.7%) run with those kernels: the 60% MFU target.
# Unpack: parity.py unpack $X/parity/parity.json --label=-fastest; the winners' runs go to
# bench/results/runtime/best7b/ (not plan_quality/: those stay the default-kernel runs).
source bench/calls/prefix.sh
prebuild
sed -i 's/^AUTO_USES_FASTEST = False/AUTO_USES_FASTEST = True/' mist_ds/config/kernel_picks.py
python3 bench/runtime/parity.py run --out $R/parity --budget-s 230 --configs zero1 --trace --no-build > $R/parity.log 2>&1
echo "rc $?" >> $R/parity.log
pack
cat > /tmp/best7b.json <<'J'
[{"name": "gpt6.7b-2g-c78-s4096-b32", "plan": "bench/results/plan_quality/gpt6.7b-2g-c78-s4096-b32.plan.json"},
 {"name": "llama7b-2g-c78-s4096-b32", "plan": "bench/results/plan_quality/llama7b-2g-c78-s4096-b32.plan.json"}]
J
python3 bench/accuracy/run_batch.py --jobs /tmp/best7b.json --out $R/best7b --budget-s 230 --no-build > $R/best7b.log 2>&1
echo "rc $?" >> $R/best7b.log
pack
