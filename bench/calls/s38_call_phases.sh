# Session 38, S38-3 (nvidia-h200, 1 GPU; timeout_s ~430): issue 10. Where two of batch b41's held-out plans spend the
# time the model over-predicts (S38-2: +4.7% and +4.0% with the backward's coupling, -4.0% / -1.0% without): their
# micro-batches (the coupling's side) or their optimizer step. bench/runtime/phase_train.py (the device synchronised
# after each engine call), 6 steps after 2 warm-up, profile h200-1gpu-node.
# Model now, per micro-batch forward / backward (the coupling, in the backward), step (boundary + optimizer):
#   l7-1g-c78-s4096-b16-z3-off05-mb2-rc32-blk   219.1 / 710.9 ms (coupling 109.1), step 3115.3 ms; 10.555 s (ran 10.086)
#   l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk   101.6 / 330.2 ms (coupling  36.7), step 1302.7 ms;  3.030 s (ran 2.912)
source bench/calls/prefix.sh
prebuild
phased l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk 29951 150 8
phased l7-1g-c78-s4096-b16-z3-off05-mb2-rc32-blk 29952 $((400 - SECONDS)) 6
pack
