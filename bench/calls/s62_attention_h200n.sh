# Session 62 (nvidia-h200; timeout_s ~200, carry .whl; no DeepSpeed ops are built); issue 10. S62-3 found single
# profiler passes reading H100 attention shapes 1.5-9x slow (bench/results/runtime/attention_h100_S62/); this re-measures
# every attention sample of the H200 node's profile twice, with the suite's d64 shapes added, for
# bench/runtime/median_attention_samples.py and merge_attention_samples.py.
source bench/calls/prefix.sh
for pass in a b; do
  timeout 80 python3 bench/runtime/remeasure_attention.py h200-1gpu-node --extra 2,14,2,4096,64 1,14,2,8192,64 \
    2,24,8,4096,128 1,24,8,4096,128 > $R/attention_h200n_$pass.log 2>&1; echo "rc $?" >> $R/attention_h200n_$pass.log
done
pack
