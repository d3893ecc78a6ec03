# Session 38, S38-2 (nvidia-h200, 1 GPU; timeout_s ~590): issue 10, held-out check of the ZeRO-3 optimizer-offload
# coupling (cost/stage_time.py coupling_s, COUPLING_PER_BALANCE 0.28, fitted on the phased plans of
# bench/results/runtime/phases_S24, S25, S28). Batch b41-1gpu-coupling: hand-set plans whose gradient compute and
# 16-bit round trip are near balance, three models no such plan had trained at seq 4096 on one card; then a third
# run of the Mistral-7B stock winner (11.243, 11.475 s/iter before) if the budget allows.
# Model now (h200-1gpu-node), iteration (without the coupling); per micro-batch forward / backward, step, peak:
#   l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk     3.030 s (without the coupling  2.883); per micro-batch 101.6 / 330.2 ms, step 1302.7 ms, peak 27.9 GiB
#   l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk   7.057 s (without the coupling  6.676); per micro-batch 125.5 / 390.1 ms, step 2932.3 ms, peak 10.5 GiB
#   l7-1g-c78-s4096-b16-z3-off05-mb2-rc32-blk    10.555 s (without the coupling  9.682); per micro-batch 219.1 / 710.9 ms, step 3115.3 ms, peak 68.2 GiB
#   auto-mis7b-1g-c78-s4096-b16-ds               11.253 s (without the coupling 10.281)
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b41-1gpu-coupling --skip-existing --out $R/b41 --gpus 1 --budget-s $((450 - SECONDS)) --no-build > $R/b41.log 2>&1
echo "rc $?" >> $R/b41.log
pack
python3 bench/accuracy/run_batch.py --jobs bench/calls/s37_mis7b_repeat.json --out $R/rep --gpus 1 --budget-s $((585 - SECONDS)) --no-build > $R/rep.log 2>&1
echo "rc $?" >> $R/rep.log
pack
