# Session 59 prepared this for a later session, batch b59 (nvidia-h100-x1; timeout_s ~250, LIMIT=240, carry .whl);
# issue 10. The search's winners with the fused head loss (autotune --fused-head-loss; Plan.head_loss 'fused', which
# launch/train.py now builds) for two 24 GiB H100-node workloads (bench/accuracy/cases.py B59), held out of every fit.
# Then `PYTHONPATH=$PWD python bench/accuracy/unpack.py $R/rep/accuracy_s59_next_b59_h100_node.json` and `make accuracy`.
# Predictions at the commit that wrote the plans (h100-1gpu-node profile, no copy slowdowns; a run re-prices with its
# machine's measured copies, so compare with `make accuracy`'s re-prediction too):
#   h100n-auto-q3-17b-1g-c24-s4096-b16-fhl: Qwen3-1.7B mb 1 ga 16, ZeRO-0, optimizer 0.75 offloaded, weights on the
#     GPU, 2 recomputed: 2.039 s/iter, allocated 22.81 GiB (b58b's streamed winner: 2.018 predicted, 2.387 ran; the
#     resident winner before it, unfused: 2.070 predicted, 2.02-2.27 ran)
#   h100n-auto-l323b-1g-c24-s4096-b16-fhl: Llama 3.2 3B mb 1 ga 16, ZeRO-0, optimizer offloaded, 7 recomputed:
#     3.663 s/iter, 22.72 GiB (b58's unfused winner, 8 recomputed: 3.658 predicted on the profile, 3.685-3.692 ran)
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s59_next_b59_h100_node.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-240} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
