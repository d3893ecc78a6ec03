# Session 47 (issue 10): the host side of mistpipe's cpu_adam path, measured by the profiler on this node.
# The H100 node's trace of h100n-auto-g27-1g-c24-s2048-b16 (S47-2, bench/results/runtime/h100_traces_S47/) showed each
# layer unit's host work (DeepSpeedCPUAdam + the fp32 -> bf16 cast) at 30.4 ms while the late gradients still streamed
# d2h and 22 ms after, where the cost model charged 19.2 (Adam at the profile's 16-thread rate x 1.31, a cast ratio
# measured on the H200 host). `python -m mist_ds.profile --sections cpu_adam` now measures the cast per thread count
# and Adam + cast beside a d2h stream (mist_ds/profile/cpu_adam.py); run twice for its spread, with the CPU's model.
source bench/calls/prefix.sh
lscpu > $R/lscpu.txt 2>&1
for i in 1 2; do
  timeout 200 python3 -m mist_ds.profile --sections cpu_adam --out $R/cpu_step_$i.json --raw-out $R/cpu_step_$i.raw.json \
    --fallback ${NODE_PROFILE:-h100-1gpu-node} > $R/cpu_step_$i.log 2>&1; echo "rc $?" >> $R/cpu_step_$i.log
done
pack
