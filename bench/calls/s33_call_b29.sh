# Session 33, call 1 (nvidia-h200, 1 GPU; timeout_s 600): batch b29-1gpu-held-out, the search's winners for four
# workloads no run had seen, predicted on h200-1gpu-node with the model of this commit
# (`python bench/accuracy/generate.py --cases ... --hardware h200-1gpu-node`), then b28's case that session 32's
# call left (its plan and prediction committed in session 32):
#   auto-g350m-1g-c16-s2048-b32  0.489 s/iter, peak 15.0 GiB (stock ZeRO-0 mb8 ga4, 9 of 24 blocks recomputed)
#   auto-g760m-1g-c16-s2048-b32  0.881 s/iter, peak 15.3 GiB, host 10 GiB (mistpipe mb4, optimizer offloaded)
#   auto-l323b-1g-c16-s8192-b8   4.916 s/iter, peak 14.7 GiB, host 78 GiB (stock ZeRO-3 mb2, weights + optimizer offloaded, 24 of 28 recomputed)
#   auto-l7-1g-c40-s2048-b32     6.678 s/iter, peak 38.0 GiB, host 95 GiB (mistpipe mb2, gradients 0.5 + optimizer offloaded, 2 recomputed)
#   auto-g27-1g-c16-s2048-b16    1.957 s/iter, peak 15.1 GiB, host 34 GiB (b28; mistpipe mb2, weights 0.5 + optimizer offloaded)
# Unpack: python bench/accuracy/unpack.py $X/r/b29/<bundle>.json (and b28)
source bench/calls/prefix.sh
clocklog
prebuild
python3 bench/accuracy/run_batch.py --batch b29-1gpu-held-out --out $R/b29 --gpus 1 --budget-s $((580 - SECONDS)) --no-build > $R/b29.log 2>&1
echo "rc $?" >> $R/b29.log
python3 bench/accuracy/run_batch.py --batch b28-1gpu-held-out --skip-existing --out $R/b28 --gpus 1 --budget-s $((585 - SECONDS)) --no-build > $R/b28.log 2>&1
echo "rc $?" >> $R/b28.log
kill $(jobs -p) 2>/dev/null; pack
