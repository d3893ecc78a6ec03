# Next session, nvidia-h200 (1 GPU, ~4 min; timeout_s 300): issue 10, a check of session 17's ZeRO-1 boundary
# phase (cost/stage.py phase_parts: accumulating ZeRO-1 allocates its 16-bit gradient partition at the boundary
# backward's first bucket reduction, stage_1_and_2.py copy_grads_in_partition, beside the gradients not yet
# reduced), priced from DeepSpeed's source after these plans peaked 0.66-0.84 bytes per parameter over the model.
# What is live at the allocated peak by site (bench/engine/alloc_frag.py; tracebacks since commit 2736e7b) for
# two 1-GPU plans: grads_in_partition (stage_1_and_2.py:2192) should sit beside the whole accumulated gradients.
source bench/calls/prefix.sh
prebuild
for c in "l13b-1g-c40-s2048-z1-mb2 29884" "g13-1g-c40-s2048-z1-mb2 29885"; do peaksites $c; pack; done
