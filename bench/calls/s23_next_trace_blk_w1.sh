# Session 23, written for the next 1-GPU call (nvidia-h200, 1 GPU, ~6 min; timeout_s 420): issue 10. One profiled
# step each of the gpt-1.3b ZeRO-3 weight-offload plan fetching whole blocks and of its per-submodule twin, in one
# call: the model prices the block plan 19% fast (1.323 predicted, 1.634 measured; the twin 1.652 / 1.726), and
# putting the dp-1 weight copies on the host path (DeepSpeed's NoGatherHandle.wait synchronises the allgather
# stream) fixed the block plan but over-priced the twin by 17% (session 23, on the CPU). The per-micro-batch cut
# (bench/accuracy/trace_kernels.py micro_batches) of both traces says where a block forward/backward waits:
# for its copies (stream 24), the gradient round trip (stream 28) or the host.
source bench/calls/prefix.sh
prebuild
P=bench/results/accuracy
traced g13w1blk $P/g13-1g-c24-s2048-z3-w1-off1-mb2-live-blk.plan.json 29895 150
traced g13w1live $P/g13-1g-c24-s2048-z3-w1-off1-mb2-live.plan.json 29896 150
pack
