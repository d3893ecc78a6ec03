# Session 62 (nvidia-h200; timeout_s ~240, carry .whl; no DeepSpeed ops are built); issue 10. S62-3 found single
# profiler passes reading H100 attention shapes 1.5-9x slow (bench/results/runtime/attention_h100_S62/, two processes);
# this re-measures every attention sample of the H200 node's profile, with the suite's d64 shapes added: 3 passes in one
# process, then 2 in another (do passes within a process disagree as much as between processes?), for
# bench/runtime/median_attention_samples.py and merge_attention_samples.py. HWP=h100-1gpu-node (nvidia-h100-x1) does the
# same for the H100 node's profile.
source bench/calls/prefix.sh
ex="2,14,2,4096,64 1,14,2,8192,64 2,24,8,4096,128 1,24,8,4096,128"
timeout 130 python3 bench/runtime/remeasure_attention.py ${HWP:-h200-1gpu-node} --extra $ex --passes 3 > $R/attention_h200n_a.log 2>&1
echo "rc $?" >> $R/attention_h200n_a.log; pack
timeout $(( ${LIMIT:-220} - 5 - SECONDS )) python3 bench/runtime/remeasure_attention.py ${HWP:-h200-1gpu-node} --extra $ex \
  --passes 2 > $R/attention_h200n_b.log 2>&1; echo "rc $?" >> $R/attention_h200n_b.log; pack
