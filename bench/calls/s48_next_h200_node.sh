# Run in S53-1 (bench/results/runtime/h200_node_host_S53/: the node's profile now takes its medians); a later run
# adds draws to them. Session 48 prepared this for a later session that lands on the 1-GPU H200 node (nvidia-h200;
# timeout_s ~400, carry .whl); issue 10. Before S53, h200-1gpu-node carried no measured host step (the cost model's
# constant, no slowdown) and its interference came from one profiler run (h2d beside d2h 1.100 / 1.086), where one
# H100-node run was an outlier
# (1.478 against three later runs' 1.21-1.25: bench/results/runtime/h100_interference_S48/). Then:
#   python bench/accuracy/cpu_step_profile.py mist_ds/profiles/h200-1gpu-node.json \
#     profiling/profiles/raw/h200-1gpu-node.raw.json RUN/cpu_step_*.raw.json
#   python bench/accuracy/interference_profile.py mist_ds/profiles/h200-1gpu-node.json \
#     profiling/profiles/raw/h200-1gpu-node.raw.json RUN/intf_*.raw.json
# (the committed raw files first), `make accuracy` and the constraint tests.
NODE_PROFILE=h200-1gpu-node source bench/calls/s47_call_cpu_step.sh
nvidia-smi topo -m > $R/topo.txt 2>&1
for i in 1 2 3; do
  timeout 60 python3 -m mist_ds.profile --sections interference --out $R/intf_$i.json --raw-out $R/intf_$i.raw.json \
    --fallback h200-1gpu-node > $R/intf_$i.log 2>&1; echo "rc $?" >> $R/intf_$i.log
done
timeout 60 python3 bench/engine/pcie_share.py --out $R/pcie_share_60m.json --gib 0.05859375 --reps 32 > $R/pcie_share.log 2>&1
pack
