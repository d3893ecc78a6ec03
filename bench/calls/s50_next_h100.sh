# Session 50 prepared this for a later H100 session (nvidia-h100-x1; timeout_s ~420, carry .whl); issue 10.
# The H100 node's ratio-0.5 mistpipe plans run 3.5-5.1% slower than priced, their forwards host-paced in profiled
# steps (bench/results/runtime/h100_partial_S50/), while ratio-1 plans with forwards as short ran on prediction:
# GPT-1.3B mb 2 (h100n-auto-g13-1g-c16-s2048-b32, 21 ms a forward, -1.1%) and Llama 3.2 1B (h100n-auto-l321b-1g-c16,
# 22 ms, +3.2%). Traced with host buckets, beside the ratio-0.5 GPT-1.3B plan (h100-auto-g13-1g-c24-s2048-b32):
# does the Python thread do more per forward at ratio 0.5, or the same work against less GPU time? Then per trace:
#   python bench/engine/microbatch_walls.py $R/traces/NAME.rank0.digest.json.gz bench/results/accuracy/PLAN.plan.json
source bench/calls/prefix.sh
prebuild
DIGEST_LIMIT=120 traced g13swap bench/results/accuracy/h100n-auto-g13-1g-c16-s2048-b32.plan.json 29874 200 h100-1gpu-node
pack
DIGEST_LIMIT=120 traced g13half bench/results/accuracy/h100-auto-g13-1g-c24-s2048-b32.plan.json 29875 200 h100-1gpu-node
pack
DIGEST_LIMIT=120 traced l321bswap bench/results/accuracy/h100n-auto-l321b-1g-c16-s4096-b16.plan.json 29876 200 h100-1gpu-node
pack
