# Session 70 (nvidia-h200, 1 GPU; timeout_s 600, LIMIT=585, carry .whl); issue 10. bench/calls/s69_b69_reserved.sh
# (its header has the predictions, made before any run) with the Phi-3.5-mini run replaced by its allocation-site
# trace (bench/engine/alloc_frag.py, 2 steps after 1 warm-up: where the allocated peak is; the model says 20.90 GiB,
# the H100 node measured 19.08) and the H100 node's phases (bench/calls/s70_h100_sites_phases.sh) left for an H100.
source bench/calls/prefix.sh
export HWP=h200-1gpu-node LIMIT=${LIMIT:-585}; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
abrun auto-l321b-1g-c16-s2048-b32-ds auto-l321b-1g-c16-s2048-b32-ds device 80 29691
peaksites auto-phi35m-1g-c24-s4096-b16-ds 29693 140 h200-1gpu-node; echo "sites done $SECONDS s" >> $R/machine.txt; pack
abrun auto-l27-1g-c24-s4096-b16-ds auto-l27-1g-c24-s4096-b16-ds device 100 29692
abrun l27 l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk device 75 29694
abrun l323b l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk device 110 29695
echo "done $SECONDS s" >> $R/machine.txt; pack
