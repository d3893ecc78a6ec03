# Session 27, S27-2 (nvidia-h200, 1 GPU; timeout_s 600): issue 10.
# (1) batch b22-1gpu-recompute (held out): plans made after the rule that a recomputed block's regenerated activations
#     and the loss's logits count once; predicted on h200-1gpu-node before the call:
#   l323b-1g-c78-s4096-b16-z3-mb2-rc28-blk           3.424 s/iter, peak 52.0 GiB
#   l323b-1g-c78-s4096-b16-z3-mb4-rc20-blk           3.186 s/iter, peak 67.0 GiB
#   l321b-1g-c40-s4096-b16-z3-mb8-rc16-blk           1.490 s/iter, peak 30.2 GiB
#   l321b-1g-c40-s4096-b16-z1-mb4-rc16               1.416 s/iter, peak 25.4 GiB
#   l321b-1g-c40-s4096-b16-z3-off0125-mb2-rc15-blk   1.727 s/iter, peak 22.5 GiB
# (2) bench/runtime/gemm_insitu.py: the profile's GEMM price against the same GEMMs timed now, L2-cold and hot.
# Commit with python bench/accuracy/unpack.py $FILES_AT/r/b22-1gpu-recompute/<bundle>.json.
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b22-1gpu-recompute --out $R/b22-1gpu-recompute --gpus 1 --budget-s $((470 - SECONDS)) --no-build > $R/b22-1gpu-recompute.log 2>&1
echo "rc $?" >> $R/b22-1gpu-recompute.log
pack
timeout $((585 - SECONDS)) python3 bench/runtime/gemm_insitu.py --out $R/gemm_insitu.json > $R/gemm_insitu.log 2>&1; echo "rc $?" >> $R/gemm_insitu.log
pack
