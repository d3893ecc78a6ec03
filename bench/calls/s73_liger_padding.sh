# Session 73 (nvidia-h100-x1 or any GPU; timeout_s 400, carry .whl); issue 10.
# Liger's loss on GPT-2's vocabulary (50257 columns padded to 50304): session 72's profiled GPT-2 XL step ran
# liger_cross_entropy_kernel 3x slower per logit than aligned vocabularies. runtime/liger_loss.py walked_columns now fills
# the padding with -inf and walks the whole padded row. (1) bench/runtime/liger_padding_probe.py: the kernel walking
# 50257 columns vs the padded row (and its loss / gradient against torch); (2) GPT-2 XL's ZeRO-2 plan (batch b72h,
# 1.471 s/iter in session 72) run as before (A: bench/calls/s73_old_liger/sitecustomize.py puts the old walk back) and
# as now (B), one after the other on this machine.
source bench/calls/prefix.sh
export HWP=h100-1gpu-node LIMIT=${LIMIT:-380}
timeout 90 python3 bench/runtime/liger_padding_probe.py > $R/liger_padding.json 2> $R/liger_padding.err
echo "probe done $SECONDS s rc $?" >> $R/machine.txt; pack
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
PYTHONPATH=$PWD/bench/calls/s73_old_liger:$PYTHONPATH abrun g2xl-z2-old h100n-z2-g2xl-1g-c78-s1024-b64-ds device 100 29741
abrun g2xl-z2-new h100n-z2-g2xl-1g-c78-s1024-b64-ds device 100 29742
echo "done $SECONDS s" >> $R/machine.txt; pack
