# Session 32, call 4 (nvidia-h200, 1 GPU; timeout_s 300, the session's last ~390 s of device time): batch
# b28-1gpu-held-out, the search's winners for three unseen small-model workloads, predicted on h200-1gpu-node with the
# mistpipe host terms fitted in session 32 (model of ad31859; `python bench/accuracy/generate.py --cases ...`):
#   auto-g13-1g-c16-s2048-b32    1.459 s/iter, peak 13.2 GiB, host 17 GiB (mistpipe mb2, optimizer offloaded)
#   auto-l321b-1g-c16-s4096-b32  2.497 s/iter, peak 14.2 GiB, host 16 GiB (mistpipe mb1, optimizer offloaded)
#   auto-g27-1g-c16-s2048-b16    1.957 s/iter, peak 15.1 GiB, host 34 GiB (mistpipe mb2, weights 0.5 + optimizer offloaded, 19 recomputed)
# The runner's budget ends the call before the session's device time does; the last case may be left.
# Unpack: python bench/accuracy/unpack.py $X/r/b28/<bundle>.json
source bench/calls/prefix.sh
clocklog
prebuild
python3 bench/accuracy/run_batch.py --batch b28-1gpu-held-out --out $R/b28 --gpus 1 --budget-s $((270 - SECONDS)) --no-build > $R/b28.log 2>&1
echo "rc $?" >> $R/b28.log
kill $(jobs -p) 2>/dev/null; pack
