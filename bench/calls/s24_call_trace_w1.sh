# Session 24, S24-1 (nvidia-h200, 1 GPU; timeout_s 600): issue 10. s23_next_trace_blk_w1.sh plus the llama-2.7b
# block plan: one profiled step each of the gpt-1.3b ZeRO-3 weight-offload plan fetching whole blocks, its
# per-submodule twin, and the llama-2.7b block plan (measured -19.0% and -13.7% against the model). The
# per-micro-batch cut (bench/accuracy/trace_kernels.py micro_batches) says where a block pass waits.
source bench/calls/prefix.sh
prebuild
P=bench/results/accuracy
traced g13w1blk $P/g13-1g-c24-s2048-z3-w1-off1-mb2-live-blk.plan.json 29895 140
traced g13w1live $P/g13-1g-c24-s2048-z3-w1-off1-mb2-live.plan.json 29896 140
traced l27w1blk $P/l27-1g-c24-s2048-z3-w1-off1-mb2-live-blk.plan.json 29897 140
pack
