# Session 66, call 5 (nvidia-h100-x1; timeout_s ~600, carry .whl); issue 10, runtime speed. The 'device' write-back of
# CPU fp32 masters into 16-bit GPU partitions (ZeRO-3 optimizer offload without offload_param; runtime/writeback_cast.py
# upload_into) against DeepSpeed's way, same machine, same plans, one after another (mist_ds.train --writeback-cast):
# 1. the gpu tests of both directions (tests/runtime/test_writeback_cast.py -m gpu);
# 2. llama-2.7b, optimizer 0.5 offloaded (h100-l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk): device, host;
#    llama-7b, optimizer 0.5 offloaded (h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk): device, host;
#    6 steps each, 2 warm-up. Same seed and data: the losses of the two ways must agree to the runs' noise.
# LIMIT: the call's seconds (default 590); a run starts only with its limit left.
source bench/calls/prefix.sh
echo "profile h100-1gpu-node" >> $R/machine.txt
prebuild & build=$!
timeout 60 python3 -m pytest -q -m gpu tests/runtime/test_writeback_cast.py -p no:cacheprovider > $R/cast_test.log 2>&1
echo "rc $? $SECONDS s" >> $R/cast_test.log
wait $build; echo "build done $SECONDS s" >> $R/machine.txt; pack
abrun l27-device h100-l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk device 80 29731
abrun l27-host h100-l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk host 80 29732
abrun l7-device h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk device 150 29733
abrun l7-host h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk host 150 29734
pack
