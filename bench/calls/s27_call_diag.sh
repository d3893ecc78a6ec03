# Session 27, S27-1 (nvidia-h200, 1 GPU, ~8 min; timeout_s 600): issue 10, diagnosis of session 26's misses.
# (1) allocated peak by site of auto-l323b-1g-c40-s4096-b16 (mistpipe, under-predicted by 0.8 GiB, as its 24 GiB
#     sibling that ran out of memory asking one micro-batch's logits): how many logits-sized tensors are live;
# (2) a profiled step of l321b-1g-c40-s4096-b16-z1-mb1 (Llama 3.2 1B, over-predicted by 6.2%): which kernels;
# (3) a profiled step of l321b-1g-c24-s4096-b16-z3-off0125-mb2-rc15-blk (ZeRO-3, optimizer-offload ratio
#     0.125, -17.9% time, host memory -18.8%).
source bench/calls/prefix.sh
prebuild
peaksites auto-l323b-1g-c40-s4096-b16 29881
pack
traced l321bz1 bench/results/accuracy/l321b-1g-c40-s4096-b16-z1-mb1.plan.json 29894 150
pack
traced l321bz3off bench/results/accuracy/l321b-1g-c24-s4096-b16-z3-off0125-mb2-rc15-blk.plan.json 29897 $((575 - SECONDS))
pack
