# Session 50 (nvidia-h100-x1; timeout_s ~420, carry .whl); issue 10.
# The two S50 calls' traces of b46's partial-offload plan (l13bhalf2) came back without host_buckets: Tracer.write
# kept only the GPU side of the trace, so the digest had no host op to count. Tracer now counts them before its filter
# (the trace's hostBuckets). The same plan again, Phi-3-mini at ratio 0.75, and the GPT-2.7B plan at ratio 0.5 whose
# five runs all took 3.5-4.9% longer than priced, each step alike (h100-auto-g27-1g-c40-s2048-b16). Then per trace:
#   python bench/engine/microbatch_walls.py $R/traces/NAME.rank0.digest.json.gz bench/results/accuracy/PLAN.plan.json
source bench/calls/prefix.sh
prebuild
DIGEST_LIMIT=120 traced l13bhalf3 bench/results/accuracy/h100-auto-l13b-1g-c24-s4096-b16.plan.json 29874 220 h100-1gpu-node
pack
DIGEST_LIMIT=120 traced g27half bench/results/accuracy/h100-auto-g27-1g-c40-s2048-b16.plan.json 29876 200 h100-1gpu-node
pack
DIGEST_LIMIT=120 traced phi3m75b bench/results/accuracy/h100n-auto-phi3m-1g-c40-s2047-b32.plan.json 29875 220 h100-1gpu-node
pack
