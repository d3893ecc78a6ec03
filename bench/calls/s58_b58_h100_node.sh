# Session 58, batch b58 (nvidia-h100-x1; timeout_s ~270, LIMIT=260, carry .whl); issue 10. The search's re-won winners
# on h100-1gpu-node once the logits release and the LM head's fused gradient freed memory (bench/accuracy/cases.py B58),
# held out of every fit. Then `PYTHONPATH=$PWD python bench/accuracy/unpack.py $R/rep/accuracy_s58_b58_h100_node.json`
# and `make accuracy`. Predictions at this commit (h100-1gpu-node; the committed winner of each workload re-priced by
# the same model, and what it measured under today's engine):
#   h100n-auto-l321b-1g-c40-s8192-b8-s58: mistpipe mb 1 ga 8, ZeRO-0, 0 recomputed (was 1), 1.280 s/iter, allocated
#     peak 36.42 GiB; committed winner (h100n-auto-l321b-1g-c40-s8192-b8) 1.338 s/iter, 38.26 GiB
#   h100n-auto-l323b-1g-c24-s4096-b16-s58: mistpipe mb 1 ga 16, ZeRO-0, gradients all on the GPU (was og 0.5),
#     optimizer offloaded, 8 recomputed (was 6), 3.658 s/iter, 22.89 GiB; committed winner 3.863 s/iter re-priced
#     (S58-2 measured it at 3.841 s/iter, 20.81 GiB, on a node whose both-ways copies ran 1.13x / 1.72x slow)
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s58_b58_h100_node.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-260} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
