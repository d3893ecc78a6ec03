# Session 66, batch b66 (nvidia-h100-x1; timeout_s ~560, LIMIT=550, carry .whl); issue 10, the write-back cast.
# With ZeRO-3's write-back cast on the device (mist_ds/config/writeback.py, the runtime's default since
# bench/calls/s66_writeback_ab.sh), stock DeepSpeed restricted: llama-7b at 78 GiB on the H100 node, the search's new
# winner (every weight offloaded) and its former one, back to back (bench/accuracy/cases.py B66), held out of every
# fit. Then `PYTHONPATH=$PWD python bench/accuracy/unpack.py $R/b66/accuracy_b66-1gpu-h100-node-writeback-cast.json`
# and `make accuracy`. Predictions at the commit that wrote the plans (h100-1gpu-node, no copy slowdowns):
#   h100n-auto-l7-1g-c78-s4096-b16-ds                     mb 4 ga 4, ZeRO-3, weights offloaded, optimizer 0.375,
#                                                         30 recomputed: 8.011 s/iter, 74.6 GiB, host 96 GiB
#   h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk  optimizer 0.5, whole-block fetch: 9.322 s/iter, 74.0 GiB
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b66-1gpu-h100-node-writeback-cast --skip-existing --out $R/b66 --gpus 1 \
  --budget-s $((${LIMIT:-550} - 5 - SECONDS)) --no-build > $R/b66.log 2>&1; echo "rc $?" >> $R/b66.log
pack
