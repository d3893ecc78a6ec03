# Session 7, call 6 (nvidia-h200-x2; 190 s per executor to fit the 543 s of device time left): issue 13's second workload. GPT-13B (40 layers, hidden 5120) on 2 GPUs at
# seq 2048, global batch 32, capped at 78 GiB: the search predicts mistpipe's winner (PP 2, ZeRO-0, optimizer
# offload 0.75, mb 1, ga 32; no activation offload, so untouched by the reload-fragmentation finding of S6-2)
# 7.31 s/iter against 10.27 for the stock-restricted winner (ZeRO-3, optimizer + gradient offload 0.5, mb 8, 39 of
# 40 layers recomputed): 1.40x. Both run in this call, one after the other (bench/engine/executor_compare.py).
source bench/calls/prefix.sh
prebuild
python3 bench/engine/executor_compare.py --out $R/gpt13b --model gpt-13b --gpus 2 --global-batch 32 --seq-len 2048 \
  --memory-gb 78 --hardware h200 --steps 4 --warmup 1 --timeout-s 190 > $R/gpt13b.log 2>&1; echo "rc $?" >> $R/gpt13b.log
pack
