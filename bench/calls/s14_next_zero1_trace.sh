# Next session, nvidia-h200 (1 GPU, ~5 min): issue 10. Session 14 re-priced stock ZeRO-0/1 from DeepSpeed 0.19.8's code
# (cost/work.py): ZeRO-1 reduces once per step, at the accumulation boundary, and autograd adds each fresh gradient
# into .grad on every other micro-batch; ZeRO-0's DDP path accumulates the same way. One profiled step of each
# 1-GPU case (grad accumulation 4) shows it directly: 3 x (blocks x weights) bf16 adds and one pass of bucket
# copies for ZeRO-1 (not four), and the same adds for ZeRO-0. Digest: bench/engine/trace_digest.py.
source bench/calls/prefix.sh
prebuild
traced l27-z1-ga4 bench/results/accuracy/l27-1g-c78-b4-z1-mb1.plan.json 29871 100
pack
traced g13-z0-ga4 bench/results/accuracy/g13-1g-c40-s2048-z0-mb2.plan.json 29872 80
pack
