# Session 27, S27-1 (nvidia-h200, 1 GPU; timeout_s 600): issue 10.
# (1) allocated peak by site of auto-l323b-1g-c40-s4096-b16 (mistpipe; session 26 under-predicted it by 0.8 GiB, as
#     its 24 GiB sibling that ran out of memory asking one micro-batch's logits): how many logits-sized tensors live;
# (2) batch b21-1gpu-logits (held out), predicted on h200-1gpu-node after the held-logits fix, before the call:
#   auto-l323b-1g-c24-s4096-b16-s27   mistpipe, optimizer offloaded, 15 recomputed   3.739 s/iter, peak 22.7 GiB
#   auto-l323b-1g-c16-s4096-b16       ZeRO-3 mb4, weights/grads/optimizer offloaded  4.691 s/iter, peak 14.6 GiB
#   auto-l321b-1g-c16-s4096-b16       mistpipe, optimizer offloaded                  1.494 s/iter, peak 14.2 GiB
# (3) with what time is left, a profiled step of l321b-1g-c40-s4096-b16-z1-mb1 (Llama 3.2 1B, over-predicted 6.2%).
# Commit with python bench/accuracy/unpack.py $FILES_AT/r/b21-1gpu-logits/<bundle>.json.
source bench/calls/prefix.sh
prebuild
peaksites auto-l323b-1g-c40-s4096-b16 29881
pack
python3 bench/accuracy/run_batch.py --batch b21-1gpu-logits --out $R/b21-1gpu-logits --gpus 1 --budget-s $((440 - SECONDS)) --no-build > $R/b21-1gpu-logits.log 2>&1
echo "rc $?" >> $R/b21-1gpu-logits.log
pack
traced l321bz1 bench/results/accuracy/l321b-1g-c40-s4096-b16-z1-mb1.plan.json 29894 $((580 - SECONDS))
pack
