# Session 72 (nvidia-h100-x1; timeout_s 600, LIMIT=560, carry .whl); issue 10.
# Does ZeRO-1/2's step walk its parameter tensors as the ZeRO-0 step does? Session 71 measured GPT-2 XL's ZeRO-1 step
# 109 us per tensor (580) longer than priced, the same as its ZeRO-0 step's walk; charging it would push Pythia's and
# Qwen2's ZeRO-1 winners from +3.5% / +8.9% to +7.3% / +10.9%. Phases separate the step from the micro-batches: batch
# b72h's three new twins run unphased (the cases' runs), then ZeRO-0/1/2 of Pythia-1.4B, ZeRO-0/1 of Qwen2-0.5B and
# ZeRO-2 of GPT-2 XL phased (bench/runtime/phase_train.py), then GPT-2 XL's ZeRO-0/1 pair again if time is left (is
# it the same host model as session 71's?). Read with
#   PYTHONPATH=$PWD python bench/accuracy/phase_vs_model.py DIR/*/rank0.phases.json --hardware h100-1gpu-node
# Predictions before any run (session 72's cost model, h100-1gpu-node; ZeRO-1/2 steps priced without a per-tensor walk):
#   h100n-z0-qw05b-1g-c40-s4096-b32-ds   ZeRO-0 mb 4 ga 8:  1.285 s/iter (step 35.6 ms), allocated 28.35 GiB
#   h100n-z2-py14b-1g-c78-s2048-b32-ds   ZeRO-2 mb 16 ga 2: 1.171 s/iter (step 38.0 ms), allocated 71.30 GiB
#   h100n-z2-g2xl-1g-c78-s1024-b64-ds    ZeRO-2 mb 16 ga 4: 1.440 s/iter (step 41.8 ms), allocated 65.25 GiB
source bench/calls/prefix.sh
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then HWP=h200-1gpu-node; else HWP=h100-1gpu-node; fi
export HWP LIMIT=${LIMIT:-560}; export CALL_LIMIT=$LIMIT; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
for c in h100n-z0-qw05b-1g-c40-s4096-b32-ds:29721 h100n-z2-py14b-1g-c78-s2048-b32-ds:29722 \
         h100n-z2-g2xl-1g-c78-s1024-b64-ds:29723; do
  abrun ${c%:*} ${c%:*} device 75 ${c#*:}
done
port=29731
for c in z0-py14b-1g-c78-s2048-b32 auto-py14b-1g-c78-s2048-b32 z2-py14b-1g-c78-s2048-b32 \
         z0-qw05b-1g-c40-s4096-b32 auto-qw05b-1g-c40-s4096-b32 z2-g2xl-1g-c78-s1024-b64 \
         z0-g2xl-1g-c78-s1024-b64 auto-g2xl-1g-c78-s1024-b64; do
  phased h100n-$c-ds $port 60 5; port=$((port + 1))
done
echo "done $SECONDS s" >> $R/machine.txt; pack
