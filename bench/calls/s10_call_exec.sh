# Next session (nvidia-h200-x2, ~9.5 min): issue 13, the two pairs where_mistpipe_wins.md (re-predicted in session 9)
# ranks highest among the unmeasured. 1. llama-13b at seq 4096, 78 GiB: mistpipe's winner (PP 2, ZeRO-0, optimizer
# 0.75 / gradients 0.5 offloaded on stage 0, mb 1, ga 32) predicted 11.98 s/iter against the stock winner's 16.78
# (measured 17.271 in S9-2): 1.40x. 2. llama-7b at 40 GiB: mistpipe ZeRO-1 dp 2 with half the gradients offloaded,
# 6.59 against the stock winner's 7.91 (measured 8.274 in S9-1): 1.20x. Each pair runs in this call
# (bench/engine/executor_compare.py), stock then mistpipe. The llama-13b pair takes the whole call (S9-2's stock run
# took 175 s with 4 steps); the llama-7b pair is s10_call_exec_c40.sh.
source bench/calls/prefix.sh
clocklog
prebuild
python3 bench/engine/executor_compare.py --out $R/l13 --model llama-13b --gpus 2 --global-batch 32 --seq-len 4096 \
  --memory-gb 78 --hardware h200 --steps 4 --warmup 1 --timeout-s 220 > $R/l13.log 2>&1; echo "rc $?" >> $R/l13.log
pack
