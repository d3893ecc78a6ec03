# Session 69 (nvidia-h100-x1; timeout_s 600, LIMIT=590, carry .whl); issue 10.
# Batch b69h (bench/accuracy/cases.py B69H): the held-out check of counting the allocator holes of stock stages that
# offload the optimizer in fp32 vocabulary matrices (cost/reserved.py VOCAB_UNIT_CLASSES, session 69) on three stock
# search winners no run had trained, where that unit and the 16-bit partition it replaces predict reserved memory 6-12%
# apart below the cap; then the first two runs of bench/calls/s68_next_h100_compute.sh (the H100 node's ZeRO-0 winners
# phased: does the H100 profile price these shapes' compute long? model compute alone per micro-batch 292 ms for l27,
# 167 for l323b). Predictions before any run (h100-1gpu-node, session 69's cost model):
#   h100n-auto-l321b-1g-c16-s2048-b32-ds     ZeRO-1 opt 1.0 mb 2 rc 0: 1.771 s/iter, allocated 12.38 GiB, reserved 14.45 (partition unit: 12.91)
#   h100n-auto-qw15b-1g-c24-s4096-b16-ds     ZeRO-1 opt 1.0 mb 1 rc 0: 2.296 s/iter, allocated 17.01 GiB, reserved 18.84 (partition unit: 17.67)
#   h100n-auto-q3-17b-1g-c24-s2048-b32-ds    ZeRO-1 opt 1.0 mb 2 rc 0: 2.450 s/iter, allocated 17.90 GiB, reserved 20.34 (partition unit: 18.63)
source bench/calls/prefix.sh
export HWP=h100-1gpu-node LIMIT=${LIMIT:-590} CALL_LIMIT=${LIMIT:-590}; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
abrun h100n-auto-l321b-1g-c16-s2048-b32-ds h100n-auto-l321b-1g-c16-s2048-b32-ds device 80 29681
abrun h100n-auto-qw15b-1g-c24-s4096-b16-ds h100n-auto-qw15b-1g-c24-s4096-b16-ds device 90 29682
abrun h100n-auto-q3-17b-1g-c24-s2048-b32-ds h100n-auto-q3-17b-1g-c24-s2048-b32-ds device 90 29683
phased h100-auto-l27-1g-c78-s4096-b16 29684 90 7
phased h100-auto-l323b-1g-c78-s4096-b16 29685 100 7
echo "done $SECONDS s" >> $R/machine.txt; pack
