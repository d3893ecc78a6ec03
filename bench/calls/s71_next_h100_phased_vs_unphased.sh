# Session 71, call 2 (nvidia-h100-x1; timeout_s 570, LIMIT=540, carry .whl; bench/results/runtime/step_phases_S71/call2); issue 10.
# Does phase_train.py's device synchronisation after each engine call move ZeRO-3 offload work from the micro-batches
# into the boundary (bench/accuracy/ZERO3_OFFLOAD.md session 71)? One unphased (launch/train.py) and one phased
# (bench/runtime/phase_train.py) run of each plan, same machine, same call. Compare each pair's median iteration
# (RunReport.median_iteration_time_s: $R/NAME.run.json against $R/NAME/run.json); read the phased ones with
#   PYTHONPATH=$PWD python bench/accuracy/phase_vs_model.py DIR/*/rank0.phases.json --hardware h100-1gpu-node
source bench/calls/prefix.sh
export HWP=h100-1gpu-node LIMIT=${LIMIT:-560}; export CALL_LIMIT=$LIMIT; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
abrun h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk device 80 29741
phased h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk 29742 80 6
abrun h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk device 170 29743
phased h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk 29744 170 6
echo "done $SECONDS s" >> $R/machine.txt; pack
