# Session 62 (nvidia-h200 or nvidia-h100-x1; timeout_s ~300, carry .whl; no DeepSpeed ops are built); issue 10.
# S62-1 (bench/results/runtime/qw05b_pair_S62/) traced Qwen2-0.5B's attention (cuDNN, 14 x 64 heads, mb 2, seq 4096)
# at 0.177 ms forward / 0.455 ms backward a block on an H100, where the H100 node's profile (b2 h16 s4096 d64,
# contiguous (b, heads, s, d) tensors) gives 0.227 / 0.756 at 14 heads. Part 1 times SDPA in the profiler's layout and
# in the runtime's (transposed views of (b, s, heads, d) projections; bench/runtime/attention_layout.py). Part 2
# re-measures every attention sample of this node's shipped profile (HWP: h200-1gpu-node on an H200, h100-1gpu-node on
# an H100) with the profiler's timing, plus the suite's d64 shapes (Qwen2-0.5B, Llama 3.2 1B) and Llama 3.2 3B's, for
# bench/runtime/merge_attention_samples.py. Ran as S62-2 (HWP=h200-1gpu-node, on an H100, with commit 7c748cc's
# runtime-layout profiler, reverted after part 1) and S62-3 (part 2 by hand with HWP=h100-1gpu-node, the profiler's
# contiguous layout, twice): bench/results/runtime/attention_h100_S62/.
source bench/calls/prefix.sh
timeout 150 python3 bench/runtime/attention_layout.py --out $R/attention_layout.json > $R/attention_layout.log 2>&1
echo "rc $?" >> $R/attention_layout.log; pack
timeout $(( ${LIMIT:-280} - 5 - SECONDS )) python3 bench/runtime/remeasure_attention.py ${HWP:-h200-1gpu-node} \
  --extra 2,14,2,4096,64 1,14,2,8192,64 1,32,8,4096,64 2,32,8,4096,64 4,32,8,4096,64 1,32,8,8192,64 \
  2,24,8,4096,128 1,24,8,4096,128 > $R/attention_${HWP:-h200-1gpu-node}.log 2>&1
echo "rc $?" >> $R/attention_${HWP:-h200-1gpu-node}.log; pack
