# Session 54 (nvidia-h100-x1; timeout_s ~480, carry .whl); issue 10. S54-1/2 ran the ratio-1 swap plan
# h100n-auto-q3-17b-1g-c24-s4096-b16 on an H100 machine whose pinned copies both ways ran 31-34 GB/s per direction
# (pcie_share; S48's machine 45-50): 2.254 / 2.267 s/iter against the committed 2.020 (S48's machine). Does the machine's
# own interference section, profiled on it, predict its swap plans? Three profiler runs of the interference section,
# pcie_share at 60 MiB, and repeats of b52's four swap plans, all on one machine.
source bench/calls/prefix.sh
lscpu > $R/lscpu.txt 2>&1
for i in 1 2 3; do
  timeout 60 python3 -m mist_ds.profile --sections interference --out $R/intf_$i.json --raw-out $R/intf_$i.raw.json \
    --fallback h100-1gpu-node > $R/intf_$i.log 2>&1; echo "rc $?" >> $R/intf_$i.log
done
timeout 40 python3 bench/engine/pcie_share.py --out $R/pcie_share_60m.json --gib 0.05859375 --reps 32 > $R/pcie_share.log 2>&1
pack
python3 bench/accuracy/run_batch.py --jobs bench/calls/s54_h100_machine_intf.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-470} - 5 - SECONDS)) > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
