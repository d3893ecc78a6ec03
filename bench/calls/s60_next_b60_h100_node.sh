# Session 60 prepared this for a later session, batch b60 (nvidia-h100-x1; timeout_s ~560, LIMIT=550, carry .whl);
# issue 10. Does the search's weighing of the fused head loss (on by default since session 60) pick the faster plan?
# Llama 3.2 3B at 16 GiB on the H100 node, each workload's winner with and without the weighing, back to back
# (bench/accuracy/cases.py B60), held out of every fit. Then
# `PYTHONPATH=$PWD python bench/accuracy/unpack.py $R/b60/accuracy_b60-1gpu-h100-node-head-weighed.json` and
# `make accuracy`. Predictions at the commit that wrote the plans (h100-1gpu-node, no copy slowdowns; a run re-prices
# with its machine's measured copies, so compare with `make accuracy`'s re-prediction too):
#   h100n-auto-l323b-1g-c16-s4096-b16        mb 2 ga 8, ZeRO-0, weights and optimizer offloaded, fused head loss:
#                                            4.329 s/iter, 15.3 GiB (weight streaming on this node ran 8-16% over the
#                                            model in S59-2 / S60-2: bench/results/runtime/streamed_trace_S60/)
#   h100n-auto-l323b-1g-c16-s4096-b16-nofhl  mb 1 ga 16, ZeRO-0, optimizer offloaded, logits: 4.471 s/iter, 15.3 GiB
#   h100n-auto-l323b-1g-c16-s8192-b8         mb 1 ga 8, weights and optimizer offloaded, fused: 4.580 s/iter, 15.4 GiB
#   h100n-auto-l323b-1g-c16-s8192-b8-nofhl   the same layout with the logits: 4.606 s/iter, 15.2 GiB
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b60-1gpu-h100-node-head-weighed --skip-existing --out $R/b60 --gpus 1 \
  --budget-s $((${LIMIT:-550} - 5 - SECONDS)) --no-build > $R/b60.log 2>&1; echo "rc $?" >> $R/b60.log
pack
