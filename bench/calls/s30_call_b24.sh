# Session 30, call 2 (nvidia-h200, 1 GPU; timeout_s 600): batch b24-1gpu-held-out, four workloads no committed run
# had seen, each the search's winner (held out of every fit; predicted on h200-1gpu-node before the call, model of
# 166a756, `python bench/accuracy/generate.py --cases ... --hardware h200-1gpu-node`):
#   auto-l38b-1g-c78-s4096-b16   7.34 s/iter, peak 56.3 GiB, host 92 GiB (mistpipe mb1, optimizer offloaded)
#   auto-g67-1g-c78-s2048-b16    3.52 s/iter, peak 68.5 GiB, host 58 GiB (mistpipe mb2, optimizer 0.75)
#   auto-g27-1g-c40-s2048-b16    1.59 s/iter, peak 38.3 GiB, host 17 GiB (mistpipe mb2, optimizer 0.5, 14 recomputed)
#   auto-l13b-1g-c24-s4096-b16   1.50 s/iter, peak 22.4 GiB, host 11 GiB (mistpipe mb1, weights + optimizer 0.5)
# Unpack: python bench/accuracy/unpack.py $X/r/b24/<bundle>.json
source bench/calls/prefix.sh
hostmemlog
clocklog
prebuild
python3 bench/accuracy/run_batch.py --batch b24-1gpu-held-out --out $R/b24 --gpus 1 --budget-s $((570 - SECONDS)) --no-build > $R/b24.log 2>&1
echo "rc $?" >> $R/b24.log
pack
