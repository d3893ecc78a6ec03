# Session 54 (nvidia-h100-x1; timeout_s ~300, carry .whl); issue 10. b55h's two misses repeated on one machine:
# Qwen2-0.5B (weights 1.0 offloaded, 32 micro-batches; predicted 2.660, S54-5 2.983 with steps 2.983 / 3.302 / 2.919)
# and Llama-2.7B at 40 GiB (optimizer 0.5 swapped; predicted 2.513, S54-5 2.768, steps 2.950 / 2.667 / 2.768).
source bench/calls/prefix.sh
timeout 30 python3 bench/engine/pcie_share.py --out $R/pcie_share_60m.json --gib 0.05859375 --reps 32 > $R/pcie_share.log 2>&1
python3 bench/accuracy/run_batch.py --jobs bench/calls/s54_b55h_repeat.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-280} - 5 - SECONDS)) > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
