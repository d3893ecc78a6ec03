# Session 68 (nvidia-h200, 1 GPU; timeout_s 600, LIMIT=585, carry .whl); issue 10.
# H100s were not lent at the session's start, so the H200 node gets what session 67 prepared for the H100 node:
# the profiler's writeback section and its GPU test (profile/writeback.py: never run on a GPU yet), CPU Adam at the
# step's scale (bench/runtime/cpu_adam_scale_probe.py, 3.2e9 parameters: Mistral 7B's phased step on this node ran
# 4.29 s where the model prices 3.05, S37), then held-out checks of cost/writeback.py on this node: three of its
# committed stock ZeRO-3 optimizer-offload plans, which all wrote back DeepSpeed's way ('host'), re-run with the
# runtime's default 'device' write-back. Predictions at session 67's last commit (h200-1gpu-node, the committed runs'
# conditions with writeback_cast 'device'; 'host' = their way, with the s/iter they ran on 12-04):
#   l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk   optimizer 1     device 5.615   host 7.042 (ran 6.942)
#   l7-1g-c78-s4096-b16-z3-off05-mb2-rc32-blk     optimizer 0.5   device 9.043   host 10.540 (ran 10.086)
#   l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk     optimizer 0.5   device 2.397   host 3.023 (ran 2.912)
source bench/calls/prefix.sh
export HWP=h200-1gpu-node LIMIT=${LIMIT:-585}; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
wbsection
abrun l323b l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk device 110 29781
abrun l27 l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk device 75 29782
timeout 100 python3 bench/runtime/cpu_adam_scale_probe.py --total 3.2e9 --out $R/cpu_adam_scale.json \
  > $R/cpu_adam_scale.log 2>&1; echo "rc $?" >> $R/cpu_adam_scale.log; pack
abrun l7 l7-1g-c78-s4096-b16-z3-off05-mb2-rc32-blk device 150 29783
echo "done $SECONDS s" >> $R/machine.txt; pack
