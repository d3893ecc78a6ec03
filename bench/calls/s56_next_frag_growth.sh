# Session 56 prepared this for a later session (nvidia-h100-x1; timeout_s ~330, LIMIT=320, carry .whl); issue 10. Which
# request grows mistpipe's reserved memory past its allocated peak (cost/reserved.py VOCAB_HOLE is empirical:
# bench/accuracy/RESERVED.md session 56): bench/engine/alloc_frag.py, whose reserved_growth now names each request
# that took reserved memory to a new high (size, allocation site, the free bytes reserved then), on an untied
# 128k-vocabulary plan (Llama-3-8B at 78 GiB: 5.95 GiB above its allocated peak; S56-6 ran it without reserved_growth,
# bench/results/runtime/frag_l38b_S56/) and a tied 152k one (Qwen3-4B at 40 GiB: 1.54 GiB), 2 steps after 1 warm-up.
# Copy $R/<plan>/alloc_frag.rank0.json beside a README under bench/results/runtime/.
source bench/calls/prefix.sh
port=29891
for P in h100n-auto-l38b-1g-c78-s4096-b16 h100n-auto-q3-4b-1g-c40-s4096-b16; do
  left=$(( ${LIMIT:-320} - 5 - SECONDS )); [ $left -lt 100 ] && break
  timeout $left python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 \
    --master_port $port bench/engine/alloc_frag.py --out $R/$P --history-from-build \
    --plan bench/results/accuracy/$P.plan.json --steps 2 --warmup 1 --report $R/$P/run.json \
    --hardware h100-1gpu-node > $R/$P.log 2>&1; echo "rc $?" >> $R/$P.log
  port=$((port + 1)); pack
done
