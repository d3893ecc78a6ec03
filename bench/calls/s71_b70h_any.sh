# Session 71 (nvidia-h100-x1 or nvidia-h200, whichever comes; timeout_s 600, LIMIT=560, carry .whl); issue 10.
# Batch b70h (bench/calls/s70_b70h_engine_terms.sh says what it checks and its H100 predictions), runnable on either
# node: the profile follows the GPU that came (an H200 prices no per-tensor step walk, so GPT-2 XL's 580 tensors test
# whether the H200 node has one too). Then the GPT-2 XL ZeRO-0 / ZeRO-1 pair phased (bench/runtime/phase_train.py),
# read with
#   PYTHONPATH=$PWD python bench/accuracy/step_tensors.py DIR/*/rank0.phases.json --hardware $HWP
#   PYTHONPATH=$PWD python bench/accuracy/phase_vs_model.py DIR/*/rank0.phases.json --hardware $HWP
# Predictions on the H200 node before any run (session 71, `python -m mist_ds.predict PLAN --hardware h200-1gpu-node`):
#   z0-g2xl 1.410, auto-g2xl (ZeRO-1) 1.418, auto-qw05b 1.224, auto-py14b (ZeRO-1) 1.072, z0-py14b 1.065 s/iter.
# On an H100 the runs are the cases' runs (bench/results/accuracy/<case>.run.json); on an H200 commit them as repeats
# (bench/results/accuracy/repeats/<case>.S<session>-h200.run.json): the h100n- cases belong to the H100 node's batch.
source bench/calls/prefix.sh
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then HWP=h200-1gpu-node; else HWP=h100-1gpu-node; fi
export HWP LIMIT=${LIMIT:-560}; export CALL_LIMIT=$LIMIT; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
for c in h100n-z0-g2xl-1g-c78-s1024-b64-ds:29721 h100n-auto-g2xl-1g-c78-s1024-b64-ds:29722 \
         h100n-auto-qw05b-1g-c40-s4096-b32-ds:29723 h100n-auto-py14b-1g-c78-s2048-b32-ds:29724 \
         h100n-z0-py14b-1g-c78-s2048-b32-ds:29725; do
  abrun ${c%:*} ${c%:*} device 75 ${c#*:}
done
phased h100n-z0-g2xl-1g-c78-s1024-b64-ds 29731 70 5
phased h100n-auto-g2xl-1g-c78-s1024-b64-ds 29732 70 5
echo "done $SECONDS s" >> $R/machine.txt; pack
