# Session 24, S24-2 (nvidia-h200, 1 GPU; timeout_s 600): issue 10. One profiled step each of the gpt-1.3b ZeRO-3
# optimizer-offload plans without weight offload: ratio 1 fetching whole blocks (+18.5% against the model) and
# per submodule, ratio 0.5 fetching whole blocks (-7.1%). S24-1's weight-offload traces show the backward's
# copies (the gradient round trip on the reduce stream, the weights on the all-gather stream) running one after
# another; these say whether the round trip alone does so too.
source bench/calls/prefix.sh
prebuild
P=bench/results/accuracy
traced g13off1blk $P/g13-1g-c24-s2048-z3-off1-mb2-blk.plan.json 29895 140
traced g13off1 $P/g13-1g-c24-s2048-z3-off1-mb2.plan.json 29896 140
traced g13off05blk $P/g13-1g-c24-s2048-z3-off05-mb2-blk.plan.json 29897 140
pack
