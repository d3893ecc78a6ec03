# Session 54 (nvidia-h100-x1; timeout_s ~570, LIMIT=560, carry .whl); issue 10. Batch b55h-1gpu-h100-node
# (bench/accuracy/cases.py B55H): b55's five workloads planned on h100-1gpu-node, held out of every fit; run_batch skips
# what the budget cannot hold. Predicted in session 54 before any run (s/iter; all mistpipe):
#   h100n-auto-qw05b-1g-c24-s4096-b64   2.660  mb 2, weights 1.0, optimizer 0.25 offloaded
#   h100n-auto-g2l-1g-c40-s1024-b128    1.549  mb 8, nothing offloaded
#   h100n-auto-l27-1g-c40-s2048-b32     2.513  mb 1, optimizer 0.5 offloaded
#   h100n-auto-q3-4b-1g-c78-s4096-b16   4.068  mb 1, optimizer 0.5 offloaded
#   h100n-auto-mis7b-1g-c40-s2048-b16   5.090  mb 2, weights 0.5, optimizer 1 offloaded, 9 recomputed
# Then: python bench/accuracy/unpack.py $R/b55h/accuracy_b55h-1gpu-h100-node.json, `make accuracy`, the constraint tests.
source bench/calls/prefix.sh
timeout 40 python3 bench/engine/pcie_share.py --out $R/pcie_share_60m.json --gib 0.05859375 --reps 32 > $R/pcie_share.log 2>&1
prebuild
python3 bench/accuracy/run_batch.py --batch b55h-1gpu-h100-node --skip-existing --out $R/b55h --gpus 1 \
  --budget-s $((${LIMIT:-560} - 5 - SECONDS)) --no-build > $R/b55h.log 2>&1; echo "rc $?" >> $R/b55h.log
pack
