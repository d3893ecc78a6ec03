# Session 53 prepared this for a later session (nvidia-h100-x1; timeout_s ~250, carry .whl; S53 had too little device
# time left to start it); issue 10. S53-5/6's traces on one H100 machine ran the swap step's d2h beside h2d at 33-36
# GB/s (every earlier H100 trace: 50-51), and the ratio-1 plan below 7.3% over its committed run on the same path
# (bench/results/runtime/h100_traces_S53/).
# Does a machine's own both-ways copy rate tell its step time? bench/engine/pcie_share.py at 60 and 256 MiB, lscpu, and
# an unprofiled run of the ratio-1 swap plan h100n-auto-q3-17b-1g-c24-s4096-b16 (committed 2.020 s/iter, S53-5 2.168),
# all on one machine.
source bench/calls/prefix.sh
lscpu > $R/lscpu.txt 2>&1; (numactl -H || cat /sys/devices/system/node/node*/cpulist) > $R/numa.txt 2>&1
timeout 40 python3 bench/engine/pcie_share.py --out $R/pcie_share_60m.json --gib 0.05859375 --reps 32 > $R/pcie_share.log 2>&1
timeout 40 python3 bench/engine/pcie_share.py --out $R/pcie_share_256m.json --gib 0.25 --reps 8 >> $R/pcie_share.log 2>&1
pack
python3 bench/accuracy/run_batch.py --jobs bench/calls/s53_q317_repeat.json --out $R/rep --gpus 1 --budget-s 185 \
  > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
