# Session 41, S41-2 (nvidia-h200, 1 GPU; timeout_s ~595, carry .whl): issue 10, held-out long-context check.
# Batch b44-1gpu-long-context: the search's winners (h200-1gpu-node) of four workloads at seq 16384, twice the longest
# sequence any committed run trained; the attention and activation terms extrapolate there. Held out of every fit.
# Model at commit time (h200-1gpu-node):
#   auto-l321b-1g-c40-s16384-b8      3.225 s, peak 37.6 / 40 GiB, host  4 GiB (zero3 whole-block: mb1 Z3 rc5)
#   auto-l323b-1g-c78-s16384-b8      7.403 s, peak 74.8 / 78 GiB, host 34 GiB (mistpipe: mb1 Z0 w1 opt0.75 rc1)
#   auto-q3-17b-1g-c40-s16384-b16    9.915 s, peak 37.6 / 40 GiB, host 36 GiB (zero12-offload: mb1 Z1 opt1 rc8)
#   auto-q3-4b-1g-c78-s16384-b8     11.577 s, peak 74.1 / 78 GiB, host 54 GiB (mistpipe: mb1 Z0 w1 opt1 rc11)
# Afterwards: bench/accuracy/unpack.py on the bundle, make accuracy.
source bench/calls/prefix.sh
prebuild
hostmemlog
python3 bench/accuracy/run_batch.py --batch b44-1gpu-long-context --skip-existing --out $R/b44 --gpus 1 \
  --budget-s $((585 - SECONDS)) --no-build > $R/b44.log 2>&1
echo "rc $?" >> $R/b44.log
pack
