# Session 31, call 2 (nvidia-h200, 1 GPU; timeout_s 600): batch b25-1gpu-held-out, four more workloads no committed run
# had seen, each the search's winner (held out of every fit; predicted on h200-1gpu-node before the call, model of
# 4723dbb, `python bench/accuracy/generate.py --cases ... --hardware h200-1gpu-node`):
#   auto-l7-1g-c40-s4096-b16    7.12 s/iter, peak 38.0 GiB, host 95 GiB (mistpipe mb1, gradients 0.5 + optimizer offloaded, 2 recomputed)
#   auto-g67-1g-c40-s2048-b16   4.29 s/iter, peak 38.4 GiB, host 82 GiB (mistpipe mb2, weights 0.5 + optimizer offloaded, 2 recomputed)
#   auto-l27-1g-c24-s4096-b16   3.13 s/iter, peak 22.2 GiB, host 32 GiB (mistpipe mb1, optimizer offloaded)
#   auto-g13-1g-c16-s2048-b16   0.93 s/iter, peak 13.2 GiB, host 17 GiB (mistpipe mb2, optimizer offloaded)
# Unpack: python bench/accuracy/unpack.py $X/r/b25/<bundle>.json
source bench/calls/prefix.sh
hostmemlog
clocklog
prebuild
python3 bench/accuracy/run_batch.py --batch b25-1gpu-held-out --out $R/b25 --gpus 1 --budget-s $((585 - SECONDS)) --no-build > $R/b25.log 2>&1
echo "rc $?" >> $R/b25.log
kill $(jobs -p) 2>/dev/null; pack
