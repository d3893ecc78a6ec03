# Session 69 (nvidia-h200, 1 GPU; timeout_s 600, LIMIT=585, carry .whl); issue 10.
# Batch b69 (bench/accuracy/cases.py B69): the held-out check of counting the allocator holes of stock stages that
# offload the optimizer in fp32 vocabulary matrices (cost/reserved.py VOCAB_UNIT_CLASSES, session 69), on three stock
# search winners no run had trained, where that unit and the 16-bit partition it replaces predict reserved memory 4-12%
# apart below the cap; then, with what the call has left, two of session 68's held-out checks of the device write-back
# (bench/calls/s68_h200_device.sh: l27 predicted 2.397 s/iter, l323b 5.615). Predictions before any run
# (h200-1gpu-node, session 69's cost model; time with the runtime's default device write-back):
#   auto-l321b-1g-c16-s2048-b32-ds           ZeRO-1 opt 1.0 mb 2 rc 0: 1.755 s/iter, allocated 12.39 GiB, reserved 14.45 (partition unit: 12.91)
#   auto-l27-1g-c24-s4096-b16-ds             ZeRO-3 opt 0.75 mb 4 rc 29: 3.845 s/iter, allocated 22.00 GiB, reserved 23.02 (partition unit: 24.00)
#   auto-phi35m-1g-c24-s4096-b16-ds          ZeRO-3 opt 1.0 mb 8 rc 31: 5.338 s/iter, allocated 20.90 GiB, reserved 22.13 (partition unit: 23.75)
# Not run in session 69 (no H200 came): b69's two ZeRO-3 plans ran on the H100 node instead (call S69-3), and the
# reserved predictions above are those of the coefficients before session 69's refit (zero12_offload 2.11 -> 2.15,
# zero3_offload_dp1 3.34 -> 3.12). On an H200 node the ZeRO-3 runs are repeats (commit them as <case>.S<n>-...).
source bench/calls/prefix.sh
export HWP=h200-1gpu-node LIMIT=${LIMIT:-585}; echo "profile $HWP" >> $R/machine.txt
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
abrun auto-l321b-1g-c16-s2048-b32-ds auto-l321b-1g-c16-s2048-b32-ds device 80 29691
abrun auto-l27-1g-c24-s4096-b16-ds auto-l27-1g-c24-s4096-b16-ds device 100 29692
abrun auto-phi35m-1g-c24-s4096-b16-ds auto-phi35m-1g-c24-s4096-b16-ds device 140 29693
abrun l27 l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk device 75 29694
abrun l323b l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk device 110 29695
echo "done $SECONDS s" >> $R/machine.txt; pack
