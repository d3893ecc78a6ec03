# Session 47 prepared this for a later H100 session (nvidia-h100-x1; timeout_s ~400, carry .whl); issue 10.
# 1. The profiler's host step once more with the version that alternates its alone and beside repeats and streams from
#    every GPU (mist_ds/profile/cpu_adam.py step_beside_d2h; not yet run on a GPU): add the raw file to
#    bench/results/runtime/h100_cpu_step_S47/'s list in `python bench/accuracy/cpu_step_profile.py` if it is sane.
# 2. A profiled step of b51's GPT-2.7B swap-path run (1.770 s/iter measured, 1.862 predicted: the swap priced 5% long
#    on this node, where the host-Adam twin is priced 3.5% short), for
#      python bench/engine/mistpipe_compare.py $R/traces/g27swap.rank0.digest.json.gz \
#        bench/results/accuracy/h100n-auto-g27-1g-c24-s2048-b16-s47.plan.json --hardware h100-1gpu-node \
#        --run $R/g27swap.profiled-run.json
#    and `python bench/engine/step_timeline.py --waits` on the digest (the swap's h2d/d2h overlap against the
#    profile's 1.48x h2d-beside-d2h slowdown).
source bench/calls/prefix.sh
lscpu > $R/lscpu.txt 2>&1
timeout 150 python3 -m mist_ds.profile --sections cpu_adam --out $R/cpu_step_1.json --raw-out $R/cpu_step_1.raw.json \
  --fallback h100-1gpu-node > $R/cpu_step_1.log 2>&1; echo "rc $?" >> $R/cpu_step_1.log
pack
DIGEST_LIMIT=120 traced g27swap bench/results/accuracy/h100n-auto-g27-1g-c24-s2048-b16-s47.plan.json 29874 220 h100-1gpu-node
pack
