# Session 32, call 2 (nvidia-h200, 1 GPU; timeout_s 600): the b26 case call 1 left for its budget, then batch
# b27-1gpu-held-out, four more workloads no committed run had seen, each the search's winner (held out of every fit;
# predicted on h200-1gpu-node before the call, model of b58ca08):
#   auto-l7-1g-c78-s2048-b32     5.809 s/iter, peak 68.9 GiB, host 58 GiB (mistpipe mb2, optimizer 0.75 offloaded)
#   auto-g13-1g-c24-s2048-b32    1.392 s/iter, peak 23.0 GiB, host 9 GiB  (mistpipe mb2, optimizer 0.5 offloaded)
#   auto-l323b-1g-c78-s8192-b8   2.895 s/iter, peak 71.9 GiB             (stock ZeRO-0, mb1)
#   auto-g27-1g-c78-s2048-b32    2.235 s/iter, peak 60.9 GiB             (stock ZeRO-0, mb4)
#   auto-l13b-1g-c40-s4096-b32   2.468 s/iter, peak 33.4 GiB             (stock ZeRO-0, mb2)
# Unpack: python bench/accuracy/unpack.py $X/r/b26/<bundle>.json; the same for $X/r/b27/
source bench/calls/prefix.sh
hostmemlog
clocklog
prebuild
python3 bench/accuracy/run_batch.py --batch b26-1gpu-held-out --skip-existing --out $R/b26 --gpus 1 --budget-s $((585 - SECONDS)) --no-build > $R/b26.log 2>&1
echo "rc $?" >> $R/b26.log
python3 bench/accuracy/run_batch.py --batch b27-1gpu-held-out --out $R/b27 --gpus 1 --budget-s $((585 - SECONDS)) --no-build > $R/b27.log 2>&1
echo "rc $?" >> $R/b27.log
kill $(jobs -p) 2>/dev/null; pack
