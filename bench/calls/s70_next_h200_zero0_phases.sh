# For session 71 (nvidia-h200 with needs_h200: an H200 must run it; timeout_s 600, LIMIT=560, carry .whl); issue 10.
# Does the H200 node's ZeRO-0 step carry the per-parameter-tensor host cost session 70 measured on the H100 node
# (config/hardware.py host_step_tensor_overhead_s: 118-172 us per tensor there; the H200 node prices 0 and its GPT
# ZeRO-0 runs sit -4.6..-5.3% under their prediction, its Llama ones +3.5..+7.6% over)? Phased runs
# (bench/runtime/phase_train.py) of the node's committed ZeRO-0 plans, GPT (292 and 388 tensors) and Llama (147, 98)
# and Pythia-1.4B (292); read with
#   PYTHONPATH=$PWD python bench/accuracy/step_tensors.py DIR/*/rank0.phases.json --hardware h200-1gpu-node
#   PYTHONPATH=$PWD python bench/accuracy/phase_vs_model.py DIR/*/rank0.phases.json --hardware h200-1gpu-node
source bench/calls/prefix.sh
export HWP=h200-1gpu-node CALL_LIMIT=${LIMIT:-560}; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
phased g13-1g-c40-s2048-z0-mb2 29731 60 7
phased l13b-1g-c40-s2048-z0-mb4-rc24 29732 60 7
phased g27-1g-c78-s2048-z0-mb2 29733 70 7
phased auto-l321b-1g-c40-s4096-b16 29734 80 7
phased auto-py14b-1g-c78-s2048-b64 29735 100 6
echo "done $SECONDS s" >> $R/machine.txt; pack
