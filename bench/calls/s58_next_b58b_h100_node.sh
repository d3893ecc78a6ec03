# Session 58 prepared this for a later session, batch b58b (nvidia-h100-x1; timeout_s ~330, LIMIT=320, carry .whl);
# issue 10. The search's other three H100-node re-wins with the memory the logits release and the fused head freed
# (bench/accuracy/cases.py B58B), held out of every fit. Then
# `PYTHONPATH=$PWD python bench/accuracy/unpack.py $R/rep/accuracy_s58_next_b58b_h100_node.json` and `make accuracy`.
# Predictions at the commit that wrote the plans (h100-1gpu-node profile; a run re-prices its optimizer path on the
# machine's measured copies, so compare with `make accuracy`'s re-prediction too):
#   h100n-auto-q3-17b-1g-c40-s4096-b16-s58: Qwen3-1.7B mb 1 ga 16, ZeRO-0, optimizer 0.25 offloaded, 0 recomputed (was
#     3): 1.723 s/iter, allocated 37.04 GiB (committed winner 1.756 re-priced, 38.13 GiB; measured 1.734 in S57-3)
#   h100n-auto-q3-17b-1g-c24-s4096-b16-s58: mb 1 ga 16, weights 0.5 and optimizer 0.75 offloaded, 1 recomputed (was
#     everything on the GPU but the optimizer): 2.018 s/iter, 22.89 GiB (committed 2.121, 20.11; S58-2 measured 2.102)
#   h100n-auto-qw05b-1g-c24-s4096-b64-s58: Qwen2-0.5B mb 2 ga 32, nothing offloaded (was every weight offloaded, whose
#     runs missed by -10.8% / -12.6% with alternating steps): 2.619 s/iter, 20.26 GiB (committed 2.660, 22.97)
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s58_next_b58b_h100_node.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-320} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
