# Session 48 (nvidia-h100-x1; timeout_s ~595, LIMIT=585, carry .whl); issue 10.
# 1. The node's h2d-beside-d2h interference, re-measured: the profile's one measurement (profiling/profiles/raw/
#    h100-1gpu-node.raw.json) gives h2d 1.478x / d2h 1.058x slower when both directions run, while S48-1's trace of
#    b51's GPT-2.7B swap step (bench/results/runtime/h100_swap_trace_S48/) ran 504 chunk loads and stores of 60 MiB both
#    ways at 50.9 / 50.6 GB/s, 601 of 626 ms overlapped (the model's step 819 ms, the trace's 678). Three profiler runs of
#    the interference section, and bench/engine/pcie_share.py (one GPU, both directions at once) at 256 MiB and 60 MiB
#    copies, with the node's NUMA layout.
# 2. Batch b52-1gpu-h100-node (bench/accuracy/cases.py B52): the search's winners on h100-1gpu-node for six workloads
#    no H100 run had trained, held out of every fit; run_batch skips what the budget cannot hold. Predicted before the
#    call (s/iter; optimizer path):
#      h100n-auto-q3-17b-1g-c24-s4096-b16   2.121  gpu_swap  (521 vs cpu_adam 523 ms a step)
#      h100n-auto-l27-1g-c24-s2048-b16      1.881  gpu_swap  (817 vs 819)
#      h100n-auto-l321b-1g-c16-s4096-b16    1.484  gpu_swap  (375 vs 379)
#      h100n-auto-l323b-1g-c24-s4096-b16    3.897  cpu_adam  (1120 vs gpu_swap 1180)
#      h100n-auto-phi3m-1g-c40-s2047-b32    3.687  gpu_swap  (866 vs 869)
#      h100n-auto-g13-1g-c16-s2048-b32      1.459  gpu_swap  (399 vs 401)
source bench/calls/prefix.sh
lscpu > $R/lscpu.txt 2>&1; (numactl -H || cat /sys/devices/system/node/node*/cpulist) > $R/numa.txt 2>&1
nvidia-smi topo -m > $R/topo.txt 2>&1
for i in 1 2 3; do
  timeout 60 python3 -m mist_ds.profile --sections interference --out $R/intf_$i.json --raw-out $R/intf_$i.raw.json \
    --fallback h100-1gpu-node > $R/intf_$i.log 2>&1; echo "rc $?" >> $R/intf_$i.log
done
timeout 60 python3 bench/engine/pcie_share.py --out $R/pcie_share_256m.json --gib 0.25 --reps 8 > $R/pcie_share.log 2>&1
timeout 60 python3 bench/engine/pcie_share.py --out $R/pcie_share_60m.json --gib 0.05859375 --reps 32 >> $R/pcie_share.log 2>&1
pack
prebuild
python3 bench/accuracy/run_batch.py --batch b52-1gpu-h100-node --skip-existing --out $R/b52 --gpus 1 \
  --budget-s $((${LIMIT:-585} - 5 - SECONDS)) --no-build > $R/b52.log 2>&1; echo "rc $?" >> $R/b52.log
pack
