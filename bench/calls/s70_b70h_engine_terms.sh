# Session 70 (nvidia-h100-x1; timeout_s 600, LIMIT=470, carry .whl); issue 10.
# Batch b70h (bench/accuracy/cases.py B70H): the held-out check of the H100 node's engine host terms of session 70
# (host_step_tensor_overhead_s 0.1438 ms per parameter tensor of a ZeRO-0 step, measured on phased runs;
# host_microbatch_overhead_s 14.54 -> 2.97 ms for ZeRO-0/1/2, ZeRO-3 and mistpipe keep 14.54) on workloads no run had
# trained, with many parameter tensors. The new terms reverse the order of GPT-2 XL's ZeRO-0 and ZeRO-1 plans.
# Predictions before any run (h100-1gpu-node, session 70's cost model; in brackets session 69's host terms):
#   h100n-auto-g2xl-1g-c78-s1024-b64-ds      ZeRO-1 mb 16 ga 4: 1.426 s/iter (1.473), allocated 63.44 GiB
#   h100n-z0-g2xl-1g-c78-s1024-b64-ds        ZeRO-0 mb 16 ga 4: 1.498 s/iter (1.461), allocated 62.70 GiB
#   h100n-auto-py14b-1g-c78-s2048-b32-ds     ZeRO-1 mb 16 ga 2: 1.167 s/iter (1.190), allocated 70.61 GiB
#   h100n-z0-py14b-1g-c78-s2048-b32-ds       ZeRO-0 mb 16 ga 2: 1.199 s/iter (1.180), allocated 69.86 GiB
#   h100n-auto-qw05b-1g-c40-s4096-b32-ds     ZeRO-1 mb 4 ga 8: 1.264 s/iter (1.356), allocated 29.10 GiB
# Superseded in session 71 by bench/calls/s71_b70h_any.sh (the same five runs on whichever node comes, then the
# GPT-2 XL pair phased); kept for the predictions above, committed before any run.
exec bash bench/calls/s71_b70h_any.sh
