# Session 37, call 1 (nvidia-h200, 1 GPU; timeout_s 600):
# 1. a repeat of b38's Qwen3-1.7B winner (auto-q3-17b-1g-c24-s4096-b32: 4.233 s/iter in S36-3, unprofiled steps
#    3.52-3.60 in S36-4, 3.504 predicted): which of the two calls was the outlier (kept as a repeat, label S37-1);
# 2. batch b39-1gpu-stock (commit of this script): the stock-DeepSpeed search winners (--executors deepspeed
#    --no-pipeline --no-tp) for three workloads, held out; predicted (h200-1gpu-node):
#   auto-q3-4b-1g-c24-s4096-b16-ds   ZeRO-3 mb8 ga2, weights+grads+optimizer offloaded, 35 recomputed  5.99 s/iter, peak 21.3 GiB, host 93 GiB
#   auto-py28b-1g-c24-s2048-b32-ds   ZeRO-1 mb2 ga16, optimizer+gradients offloaded                     3.73 s/iter, peak 21.4 GiB, host 63 GiB
#   auto-qw7b-1g-c78-s4096-b16-ds    ZeRO-3 block fetch mb8 ga2, optimizer 0.625 offloaded, 28 recomputed 10.54 s/iter, peak 73.6 GiB, host 94 GiB
# (the runner leaves out what its budget cannot hold; a later call runs the rest with --skip-existing).
# Unpack: python bench/accuracy/unpack.py $X/r/b39/<bundle>.json; python bench/accuracy/repeats.py add $X/r/rep/<bundle>.json S37-1
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s37_q3_repeat.json --out $R/rep --gpus 1 --budget-s 150 --no-build > $R/rep.log 2>&1
echo "rc $?" >> $R/rep.log
pack
python3 bench/accuracy/run_batch.py --batch b39-1gpu-stock --skip-existing --out $R/b39 --gpus 1 --budget-s $((585 - SECONDS)) --no-build > $R/b39.log 2>&1
echo "rc $?" >> $R/b39.log
pack
