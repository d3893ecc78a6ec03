# Session 46 prepared this for a later H100 session (nvidia-h100-x1; timeout_s ~595, carry .whl); issue 10.
# The H100 node's mistpipe winners run slower than priced (held-out b49: -7.3%, -3.9%, -4.4%, -11.1%; b46/b47: -8.2%,
# -4.0%, -2.2%, -0.9%, +1.8%), while no H100 step has ever been traced. 1. Profiled steps (traced: step 4 of 5) of the
# two furthest off, and of the stock ZeRO-0 winner priced 12.1% long, each set beside the model per pass:
#   python bench/engine/mistpipe_compare.py $R/traces/NAME*.digest.json.gz bench/results/accuracy/CASE.plan.json \
#     --hardware h100-1gpu-node --run $R/NAME.profiled-run.json            (g27c24, q317c40: mistpipe)
#   python bench/accuracy/trace_compare.py ... same arguments ...          (l321bc78: stock ZeRO-0)
# 2. What the budget leaves: b50's ratio-1 ZeRO-3 optimizer-offload plan (h100-l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk,
#    predicted 7.011 s/iter with the carried write-back rate, 5.489 at the pinned one), held out.
source bench/calls/prefix.sh
prebuild
A=bench/results/accuracy
# S47-1 ran these at 120 / 110 s on a fresh machine: both were killed while the profiler wrote the trace; S47-2 took 220.
traced g27c24 $A/h100n-auto-g27-1g-c24-s2048-b16.plan.json 29871 220 h100-1gpu-node; pack
traced q317c40 $A/h100n-auto-q3-17b-1g-c40-s4096-b16.plan.json 29872 220 h100-1gpu-node; pack
traced l321bc78 $A/h100-auto-l321b-1g-c78-s4096-b16.plan.json 29873 90 h100-1gpu-node; pack
python3 bench/accuracy/run_batch.py --batch b50-1gpu-h100-writeback --skip-existing --out $R/b50 --gpus 1 \
  --budget-s $((${LIMIT:-585} - 10 - SECONDS)) --no-build > $R/b50.log 2>&1; echo "rc $?" >> $R/b50.log
pack
