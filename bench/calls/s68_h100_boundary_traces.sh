# Session 68 (nvidia-h100-x1; timeout_s 210, carry .whl; the q3-4b trace runs only where LIMIT leaves it time); issue 10. The phased device-way runs of this session
# (bench/results/runtime/step_phases_S68/) found the last backward of ZeRO-3 optimizer-offload plans at micro-batch 4
# 81-242 ms longer than the others where cost/stage_time.py boundary_window prices 21-26 ms (it hides the fp32 gradient
# copies in the backward's slack beyond the 16-bit round trip); at micro-batch 2, where the model leaves no slack, it
# is right within ~10%. Traces of two of those plans (step 4 of 5, GPU and CUDA runtime calls: which host syncs and
# copies the last backward carries; read with bench/accuracy/boundary_timeline.py).
source bench/calls/prefix.sh
export LIMIT=${LIMIT:-200}
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
DIGEST_LIMIT=60 traced l321b-mb4 bench/results/accuracy/h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk.plan.json 29796 110 h100-1gpu-node; pack
left=$(( LIMIT - 5 - SECONDS ))
if [ $left -gt 100 ]; then
  DIGEST_LIMIT=40 traced q3-4b-mb4 bench/results/accuracy/h100n-auto-q3-4b-1g-c24-s4096-b16-ds.plan.json 29797 $left h100-1gpu-node
else echo "q3-4b skipped: $left s left" >> $R/machine.txt; fi
echo "done $SECONDS s" >> $R/machine.txt; pack
