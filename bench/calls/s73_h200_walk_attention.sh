# Session 73 (nvidia-h200 with needs_h200: an H200 must run it; timeout_s 600, LIMIT=560, carry .whl); issue 10.
# Two questions on the H200 node (profile h200-1gpu-node), cheapest first:
# 1. Does fused attention run faster per sequence at 16k / 32k tokens a shape than at the profile's 8k there too
#    (session 72 on the H100 node: 1.2-1.5x)? Every shipped sample plus 10 head shapes x 4 sequence lengths at 8k, 16k
#    and 32k tokens, ungated, two passes in one process and one in another (as bench/calls/s72_attention_batch.sh);
#    merge with median_attention_samples.py ... --passes-only, then merge_attention_samples.py --new-shapes-only.
# 2. Liger's loss on GPT-2's padded vocabulary (bench/runtime/liger_padding_probe.py): is the kernel faster walking the
#    padded row after a -inf fill (runtime/liger_loss.py walked_columns) than walking the 50257 real columns?
# 3. Does the node's ZeRO-0/1/2 step walk the parameter tensors on the host as the H100 node's does (118-196 us a
#    tensor; config/hardware.py host_step_tensor_overhead_s, which the H200 node prices 0)? Phased runs
#    (bench/runtime/phase_train.py) of the node's committed plans, most telling first (GPT-2 1.3B / 2.7B 292 / 388
#    tensors, the ZeRO-1/2 ones with the largest errors); read with
#      PYTHONPATH=$PWD python bench/accuracy/step_tensors.py DIR/*/rank0.phases.json --hardware h200-1gpu-node
#      PYTHONPATH=$PWD python bench/accuracy/phase_vs_model.py DIR/*/rank0.phases.json --hardware h200-1gpu-node
source bench/calls/prefix.sh
export HWP=h200-1gpu-node CALL_LIMIT=${LIMIT:-560}; echo "profile $HWP" >> $R/machine.txt
X=""
for s in 1024 2048 4096 8192; do
  for hd in 16,16,128 32,8,128 16,16,64 14,2,64 32,32,128 8,8,128 32,8,64 24,8,128 16,8,128 12,2,128; do
    h=${hd%%,*}; rest=${hd#*,}; kv=${rest%,*}; d=${rest#*,}
    X="$X $((8192 / s)),$h,$kv,$s,$d $((16384 / s)),$h,$kv,$s,$d $((32768 / s)),$h,$kv,$s,$d"
  done
done
timeout 150 python3 bench/runtime/remeasure_attention.py $HWP --extra $X --passes 2 --gate-s 0 > $R/a.log 2> $R/a.err
echo "a done $SECONDS s rc $?" >> $R/machine.txt; pack
timeout 90 python3 bench/runtime/remeasure_attention.py $HWP --extra $X --passes 1 --gate-s 0 > $R/b.log 2> $R/b.err
echo "b done $SECONDS s rc $?" >> $R/machine.txt; pack
timeout 90 python3 bench/runtime/liger_padding_probe.py > $R/liger_padding.json 2> $R/liger_padding.err
echo "probe done $SECONDS s rc $?" >> $R/machine.txt; pack
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
phased g13-1g-c40-s2048-z0-mb2 29731 60 6
phased g13-1g-c40-s2048-z1-mb2 29732 60 6
phased g27-1g-c78-s2048-z0-mb2 29733 70 6
phased l13b-1g-c40-s2048-z2-mb2 29734 70 6
phased g27-1g-c78-s2048-z2-mb4-rc0 29735 70 6
phased l13b-1g-c40-s2048-z0-mb4-rc24 29736 60 6
phased auto-l321b-1g-c40-s4096-b16 29737 80 6
echo "done $SECONDS s" >> $R/machine.txt; pack
