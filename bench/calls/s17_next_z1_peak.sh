# Next session, nvidia-h200 (1 GPU, ~4 min; timeout_s 300): issue 10, the allocated-memory maximum after session
# 17. ZeRO-1 plans without recompute peak in forward/backward 0.8-1.1 GiB above the model on one GPU (g13, l13b
# mb2 ga4: 0.66-0.84 bytes per parameter) and 5.2 GiB on two (the llama-7b parity runs, -6.0%: 0.83 bytes per
# parameter). What is live at the allocated peak, by allocation site (bench/engine/alloc_frag.py, tracebacks on
# since commit 2736e7b), for the two 1-GPU plans; compare with cost/memory.py's terms
# (bench/results/runtime/zero3_gathered_S17/README.md did the same for ZeRO-3 weight offload).
source bench/calls/prefix.sh
prebuild
for c in "l13b-1g-c40-s2048-z1-mb2 29884" "g13-1g-c40-s2048-z1-mb2 29885"; do peaksites $c; pack; done
