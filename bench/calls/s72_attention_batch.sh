# Session 72 (nvidia-h100-x1; timeout_s 300, carry .whl); issue 10.
# Does fused attention run faster per sequence at the micro-batches the runs use than at the profile's sampled batch?
# cost/hw_lookup.py prices a batch above the largest one sampled at the nearest sequence length at that batch's FLOP
# rate (_rate_batch), and the H100 node's samples hold 8192 tokens a shape (grids.py), while Pythia-1.4B (16 x 2048),
# Qwen2-0.5B (4 x 4096) and GPT-2 XL (16 x 1024) train 16-32k tokens a micro-batch: their profiled steps
# (step_phases_S72/call2) ran attention 27-32% (forward) and 13-22% (backward) under its price. Every shipped sample
# plus the same head shapes at 16k and 32k tokens, and the three runs' own shapes, re-measured ungated (as every
# shipped sample was timed), three passes in two processes; merge with
#   python bench/runtime/median_attention_samples.py h100-1gpu-node a.log b.log --passes-only > m.log
source bench/calls/prefix.sh
X=""
for s in 1024 2048 4096 8192; do
  for hd in 16,16,128 32,8,128 16,16,64 14,2,64 32,32,128 8,8,128 32,8,64 24,8,128; do
    h=${hd%%,*}; rest=${hd#*,}; kv=${rest%,*}; d=${rest#*,}
    X="$X $((16384 / s)),$h,$kv,$s,$d $((32768 / s)),$h,$kv,$s,$d"
  done
done
X="$X 16,16,16,2048,128 4,14,2,4096,64 16,25,25,1024,64"
timeout 200 python3 bench/runtime/remeasure_attention.py h100-1gpu-node --extra $X --passes 2 --gate-s 0 > $R/a.log 2> $R/a.err
echo "a done $SECONDS s rc $?" >> $R/machine.txt; pack
timeout 120 python3 bench/runtime/remeasure_attention.py h100-1gpu-node --extra $X --passes 1 --gate-s 0 > $R/b.log 2> $R/b.err
echo "b done $SECONDS s rc $?" >> $R/machine.txt; pack
