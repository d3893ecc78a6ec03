# Session 67, call 3 (nvidia-h100-x1; timeout_s 600, LIMIT=590, carry .whl); issue 10.
# 1) llama-7b/1gpu/78GiB on the H100 node ranks at Spearman 0.80 on two single runs of two plan points predicted 2.3%
#    apart (w1-o0.375 device 8.011, off05 device 7.825; ran 7.773 / 8.051): one more run of each, device way.
# 2) the Llama 3.2 3B optimizer-1 plans, 40 GiB (mb2 ga8; +10.7% in call 1) and 24 GiB (mb8 ga2; +2.7%), phased
#    (bench/runtime/phase_train.py, device write-back by default): per-micro-batch forward/backward and the step
#    against the model (bench/accuracy/phase_vs_model.py).
source bench/calls/prefix.sh
export HWP=h100-1gpu-node; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
abrun l7-w1o0375 h100n-auto-l7-1g-c78-s4096-b16-ds device 150 29771
abrun l7-off05 h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk device 150 29772
left=$(( 585 - SECONDS )); [ $left -gt 90 ] && phased h100-l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk 29773 100 4; pack
left=$(( 585 - SECONDS )); [ $left -gt 90 ] && phased h100n-auto-l323b-1g-c24-s4096-b16-ds 29774 $(( left < 100 ? left : 100 )) 4; pack
echo "done $SECONDS s" >> $R/machine.txt; pack
