# Next session (nvidia-h200-x2, ~6.5 min): issue 13, llama-7b at a 40 GiB cap, stock winner (ZeRO-1, optimizer and
# gradients offloaded; 8.274 s/iter in S9-1, 147 s for 5 steps) vs mistpipe's (ZeRO-1, half the gradients
# offloaded), predicted 7.91 vs 6.59 s/iter (1.20x), in one call (bench/engine/executor_compare.py).
source bench/calls/prefix.sh
clocklog
prebuild
python3 bench/engine/executor_compare.py --out $R/l7c40 --model llama-7b --gpus 2 --global-batch 32 --seq-len 4096 \
  --memory-gb 40 --hardware h200 --steps 4 --warmup 1 --timeout-s 170 > $R/l7c40.log 2>&1; echo "rc $?" >> $R/l7c40.log
pack
