# Session 66 prepared this for a later session (nvidia-h100-x1; timeout_s ~600, LIMIT=590, carry .whl); issue 10.
# The H100 node's committed stock ZeRO-3 plans that offload the optimizer without offload_param, re-run with the
# runtime's default write-back since session 66 ('device': the CPU masters staged into the GPU partitions through
# pinned chunks, runtime/writeback_cast.py upload_into; their committed runs wrote back DeepSpeed's way). Held-out
# checks of cost/writeback.py at the probe's staged_h2d_bandwidth_gbps; commit the runs as repeats (<case>.S<n>-device)
# and `make accuracy`. Predictions at session 66's last commit (h100-1gpu-node; 'host' = the committed runs' way, with
# the measured s/iter of those runs):
#   h100-auto-l27-1g-c40-s4096-b16-ds                 optimizer 0.375   device 3.619   host 4.086 (ran 3.834)
#   h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk  optimizer 1       device 1.958   host 2.507 (ran 2.421)
#   h100n-auto-l323b-1g-c24-s4096-b16-ds              optimizer 1       device 4.575   host 6.002 (ran 6.215)
#   h100-l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk  optimizer 1       device 5.582   host 7.010 (ran 6.991)
#   h100n-auto-q3-4b-1g-c24-s4096-b16-ds              optimizer 1       device 6.243   host 8.029 (ran 7.764)
source bench/calls/prefix.sh
export HWP=h100-1gpu-node; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
abrun l27 h100-auto-l27-1g-c40-s4096-b16-ds device 100 29761
abrun l321b h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk device 80 29762
abrun l323b-c24 h100n-auto-l323b-1g-c24-s4096-b16-ds device 100 29763
abrun l323b-c40 h100-l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk device 110 29764
abrun q3-4b h100n-auto-q3-4b-1g-c24-s4096-b16-ds device 120 29765
pack
