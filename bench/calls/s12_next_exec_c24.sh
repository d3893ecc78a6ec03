# Next session with nvidia-h200-x2 (~9 min): issue 13. llama-7b at seq 4096, global batch 32, 24 GiB cap: since the
# swap reads its gradients on the device (session 12) the search proposes a PP 2 mistpipe plan (stage 0: optimizer
# states on the host, 7 blocks recomputed; stage 1: half its gradients and all optimizer states on the host),
# predicted 6.89 s/iter against 7.91 for the stock winner (PP 2, ZeRO-1, optimizer offload; measured 9.244 in S5-3):
# 1.15x (session 14's model: every optimizer state on the host, 6.77 against 8.09, 1.19x). Session 5's mistpipe plan lost here (0.73x, allocator retries at the cap). Both winners in one call,
# stock then mistpipe (bench/engine/executor_compare.py computes them with the search of the commit it runs).
source bench/calls/prefix.sh
clocklog
prebuild
python3 bench/engine/executor_compare.py --out $R/l7c24 --model llama-7b --gpus 2 --global-batch 32 --seq-len 4096 \
  --memory-gb 24 --hardware h200 --steps 4 --warmup 1 --timeout-s 200 > $R/l7c24.log 2>&1; echo "rc $?" >> $R/l7c24.log
pack
