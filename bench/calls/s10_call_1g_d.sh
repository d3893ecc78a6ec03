# Session 10, call 4 (nvidia-h200, 1 GPU): the rest of the 1-GPU host's node profile. Call 3's profiled steps showed
# gpu_swap's h2d and d2h running at ~50 + 53 GB/s at once here (the h200 profile, measured on the 2-GPU host with both
# GPUs copying, prices 33.7 + 52) and the stock step's CPU Adam at ~0.36 ns/element over 2.7e9 elements (profile:
# 0.194, from a 32M-element probe). (a) python -m mist_ds.profile --sections cpu_adam,copies,interference (a
# complete profile of this node, h200 for the rest); (b) host_step.py (one process: CPU Adam, norm, clip, bf16 copy)
# at 355.8M elements (as S4's 2-GPU-host host_step.json) and at 1e9.
source bench/calls/prefix.sh
prebuild
lscpu > $R/lscpu.txt; free -g >> $R/lscpu.txt
timeout 150 python3 -m mist_ds.profile --out $R/host1g.json --sections cpu_adam,copies,interference --raw-out $R/host1g.raw.json > $R/profile.log 2>&1; echo "rc $?" >> $R/profile.log
pack
timeout 80 python3 bench/engine/host_step.py --out $R/host_step_356m.json --configs 1x16,1x8 > $R/host_step.log 2>&1; echo "rc $?" >> $R/host_step.log
pack
timeout 80 python3 bench/engine/host_step.py --out $R/host_step_1g.json --numel 1000000000 --configs 1x16 --repeats 2 >> $R/host_step.log 2>&1; echo "rc $?" >> $R/host_step.log
pack
