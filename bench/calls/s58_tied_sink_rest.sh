# Session 58, the two plans S58-2 left out (nvidia-h100-x1 or nvidia-h200; timeout_s ~310, LIMIT=300, carry .whl); issue 10. The GPU check of the tied
# LM head's fused weight gradient (runtime/tp.py VocabParallelEmbedding.logits through runtime/wgrad.py linear;
# runtime/mistpipe/stage.py _fuse_head; RunReport.fused_tied_head_wgrad; CPU-tested against stock DeepSpeed on tied GPT
# pipelines), with the logits release (S58-1 checked it) on plans with more than one micro-batch per step. Five tied
# winners (s58_tied_sink_rest.json); then `python bench/accuracy/repeats.py add $R/rep/accuracy_s58_tied_sink_rest.json S58-2`
# and `make accuracy`. Predicted allocated / reserved peak GiB on h100-1gpu-node at this commit (each plan's latest
# run's records, then today's engine; measured = that latest run):
#   h100n-auto-q3-4b-1g-c78-s4096-b16   measured 65.70/65.96 (S58-1)  recorded 65.84/66.71  today 65.11/65.98
#   h100n-auto-l323b-1g-c24-s4096-b16   measured 23.16/23.86 (S57-4)  recorded 23.34/24.00  today 21.38/22.26
#   h100n-auto-q3-17b-1g-c24-s4096-b16  measured 19.97/21.18 (S57-3)  recorded 20.11/20.81  today 17.79/18.48
#   h100n-auto-q3-4b-1g-c40-s4096-b16   measured 37.57/39.11 (S57-3)  recorded 37.81/38.68  today 35.49/36.35
#   auto-l323b-1g-c24-s8192-b8 (H200 run) measured 21.52/23.80 (H200)  on the H100 profile: today 17.93/18.81
# A run that allocates about a head gradient (0.73 GiB q3-4b / l323b, 0.58 q3-17b) more than predicted kept it fresh.
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s58_tied_sink_rest.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-300} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
