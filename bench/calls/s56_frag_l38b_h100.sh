# Session 56 (nvidia-h100-x1; timeout_s ~240, carry .whl); issue 10. Where Llama-3-8B's mistpipe winner at 78 GiB
# (h100n-auto-l38b-1g-c78-s4096-b16, b56h) reserves 5.95 GiB above its allocated peak (its H200-node twin the same bytes),
# while tied-head plans leave ~1 vocabulary matrix: bench/engine/alloc_frag.py with the history from the build (pending
# record_stream frees, the segment snapshot at the reserved peak, live blocks by site), 2 steps after 1 warm-up.
source bench/calls/prefix.sh
P=h100n-auto-l38b-1g-c78-s4096-b16
timeout ${LIMIT:-200} python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 \
  --master_port 29890 bench/engine/alloc_frag.py --out $R/$P --history-from-build \
  --plan bench/results/accuracy/$P.plan.json --steps 2 --warmup 1 --report $R/$P/run.json \
  --hardware h100-1gpu-node > $R/$P.log 2>&1; echo "rc $?" >> $R/$P.log
pack
