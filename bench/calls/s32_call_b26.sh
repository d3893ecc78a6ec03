# Session 32, call 1 (nvidia-h200, 1 GPU; timeout_s 600): batch b26-1gpu-held-out, six workloads no committed run had
# seen, each the search's winner (held out of every fit; predicted on h200-1gpu-node before the call, model of
# b58ca08, `python bench/accuracy/generate.py --cases ... --hardware h200-1gpu-node`):
#   auto-g27-1g-c24-s2048-b16    1.753 s/iter, peak 22.3 GiB, host 31 GiB (mistpipe mb2, optimizer offloaded)
#   auto-l13b-1g-c16-s4096-b16   1.624 s/iter, peak 13.1 GiB, host 17 GiB (mistpipe mb1, optimizer offloaded)
#   auto-l321b-1g-c78-s8192-b16  2.331 s/iter, peak 67.9 GiB            (stock ZeRO-0, mb4)
#   auto-l27-1g-c40-s4096-b16    2.971 s/iter, peak 33.2 GiB, host 32 GiB (mistpipe mb2, optimizer offloaded)
#   auto-l323b-1g-c24-s8192-b8   4.297 s/iter, peak 22.6 GiB, host 43 GiB (mistpipe mb1, weights + optimizer offloaded, 21 recomputed)
#   auto-l7-1g-c78-s2048-b32     5.809 s/iter, peak 68.9 GiB, host 58 GiB (mistpipe mb2, optimizer 0.75 offloaded)
# Unpack: python bench/accuracy/unpack.py $X/r/b26/<bundle>.json
source bench/calls/prefix.sh
hostmemlog
clocklog
prebuild
python3 bench/accuracy/run_batch.py --batch b26-1gpu-held-out --out $R/b26 --gpus 1 --budget-s $((585 - SECONDS)) --no-build > $R/b26.log 2>&1
echo "rc $?" >> $R/b26.log
kill $(jobs -p) 2>/dev/null; pack
