# Session 66 prepared this for a later session (nvidia-h200-x2 or nvidia-h100-x2; timeout_s ~600, LIMIT=590, carry
# .whl); issue 10, the 'device' write-back (mist_ds/config/writeback.py, runtime/writeback_cast.py) with two ranks on
# one host, where session 66 measured only one: the staged upload's host conversion (staged_h2d_bandwidth_gbps, 29.66
# GB/s from one process, carried to the 2-GPU profiles unmeasured) may share the host's memory bandwidth.
# 1. the probe with two processes at once, one per GPU (bench/runtime/upload_cast_probe.py, 1e9 elements each), and
#    the profiler's writeback section (added in session 67) on both GPUs;
# 2. 2-GPU suite plans, DeepSpeed's way then the runtime's (6 steps, 2 warm-up; --writeback-cast host / device):
#    l7-2g-c40-b4-z3-off05-rc32 (llama-7b, optimizer 0.5, weights on the GPUs: the staged upload), then
#    auto-l13-2g-c78-s4096-b32-z23 (llama-13b, weights offloaded, optimizer 0.5: both directions) if time is left.
# Then commit the runs as repeats (S<n>-...-host / -device) and `make accuracy`; predictions before the call with
# `python -m mist_ds.compare` on each plan.
source bench/calls/prefix.sh
if nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | grep -q H200; then export HWP=h200; else export HWP=h100-sxm-80gb; fi
echo "profile $HWP" >> $R/machine.txt
probes=()   # alone on the host: the op build after them
for g in 0 1; do CUDA_VISIBLE_DEVICES=$g timeout 120 python3 bench/runtime/upload_cast_probe.py --elements 1e9 \
  --out $R/probe_gpu$g.json > $R/probe_gpu$g.log 2>&1 & probes+=($!); done
wait "${probes[@]}"; echo "probes done $SECONDS s" >> $R/machine.txt; pack
# the profiler's writeback section (session 67, profile/writeback.py): rank 0 alone, then both ranks at once
timeout 150 python3 -m mist_ds.profile --sections writeback --quick --fallback $HWP --out $R/wb/wb.json \
  > $R/profile_wb.log 2>&1; echo "rc $?" >> $R/profile_wb.log; pack
prebuild; echo "build done $SECONDS s" >> $R/machine.txt
export NGPU=2
abrun l7-host l7-2g-c40-b4-z3-off05-rc32 host 110 29751
abrun l7-device l7-2g-c40-b4-z3-off05-rc32 device 110 29752
abrun l13-device auto-l13-2g-c78-s4096-b32-z23 device 250 29753
pack
