# Session 36, call 4 (nvidia-h200, 1 GPU; timeout_s 450):
# 1. one profiled step of auto-q3-17b-1g-c24-s4096-b32 (Qwen3-1.7B, mistpipe mb1 ga32, optimizer offloaded): it ran
#    4.233 s/iter in S36-3 against 3.504 predicted (-17.2%) while the 4B and 8B Qwen3 winners ran within 2.5% and
#    Qwen2-1.5B's same-shaped plan within 0.9%: bench/runtime/traced_train.py, step 4 profiled, digested
#    (bench/engine/trace_digest.py) for bench/accuracy/trace_compare.py;
# 2. batch b37-1gpu-rewon (left out of S36-3 by its budget): the search's new stock winner for b36's Llama 3.2 3B
#    24 GiB workload, auto-l323b-1g-c24-s4096-b16-ds-s36, ZeRO-1 mb1 ga16 opt1, 8 recomputed: 4.59 s/iter, peak 23.0 GiB.
source bench/calls/prefix.sh
prebuild &
traced q3-17b bench/results/accuracy/auto-q3-17b-1g-c24-s4096-b32.plan.json 29561 170
pack
wait
python3 bench/accuracy/run_batch.py --batch b37-1gpu-rewon --skip-existing --out $R/b37 --gpus 1 --budget-s $((430 - SECONDS)) --no-build > $R/b37.log 2>&1
echo "rc $?" >> $R/b37.log
pack
