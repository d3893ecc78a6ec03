# Session 46 (nvidia-h100-x1; timeout_s ~200, LIMIT=190, carry .whl); issue 10.
# Batch b50b-1gpu-h100-writeback: h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk (Llama 3.2 1B, ZeRO-3 mb4 ga4, every
# optimizer state offloaded, weights on the GPU, all 16 blocks recomputed), held out of every fit. Predicted before the
# call on h100-1gpu-node with the carried write-back rate (3.909 GB/s): 2.591 s/iter; at the pinned rate (the profile
# before session 46): 2.010.
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b50b-1gpu-h100-writeback --skip-existing --out $R/b50b --gpus 1 \
  --budget-s $((${LIMIT:-585} - 5 - SECONDS)) --no-build > $R/b50b.log 2>&1; echo "rc $?" >> $R/b50b.log
pack
