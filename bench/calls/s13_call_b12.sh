# Session 13, call 2 (nvidia-h200, 1 GPU, ~9.5 min): issues 10 and 13. Accuracy batch b12-1gpu-mistpipe: the mistpipe
# engine's memory settings beyond the llama-2.7b optimizer-offload winners (optimizer with and without gradients on
# the host, weights on the host in part and in full, activation offload beside an offloaded optimizer), gpt-1.3b,
# gpt-2.7b, llama-1.3b and llama-2.7b on one GPU, one run at a time.
source bench/calls/prefix.sh
prebuild
clocklog
python3 bench/accuracy/run_batch.py --batch b12-1gpu-mistpipe --out $R/b12 --budget-s 470 --no-build > $R/b12.log 2>&1
echo "rc $?" >> $R/b12.log
kill %1 2>/dev/null
pack
