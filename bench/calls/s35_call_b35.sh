# Session 35, call 5 (nvidia-h200, 1 GPU; timeout_s 300): batch b35-1gpu-rewon, the search's new winner for the Qwen2-7B
# 40 GiB workload with min(ga, 2) held logits sets priced (commit of this script):
#   auto-qw7b-1g-c40-s2048-b16-s35  5.23 s/iter, peak 37.7 GiB, host 99 GiB (mistpipe mb4 ga4, 23 of 28 recomputed,
#   every weight and the optimizer offloaded, gpu_swap)
# Unpack: python bench/accuracy/unpack.py $X/r/b35/<bundle>.json
source bench/calls/prefix.sh
python3 bench/accuracy/run_batch.py --batch b35-1gpu-rewon --skip-existing --out $R/b35 --gpus 1 --budget-s $((280 - SECONDS)) --no-build > $R/b35.log 2>&1
echo "rc $?" >> $R/b35.log
pack
