# Session 36, call 1 (nvidia-h200, 1 GPU; timeout_s 600):
# 1. the GPU test of session 35's padded-vocabulary loss (chunked / compiled / Liger at 50257 of 50304 columns),
#    committed then but not run: tests/runtime/test_gpu_block.py -k padded;
# 2. the one plan predicted under its cap that ran out of memory (auto-l323b-1g-c24-s4096-b16: predicted 23.79 GiB
#    allocated of 24; it failed asking 1002 MiB with 22.64 GiB allocated and 0.61 GiB cached) run again with the
#    cap at 32 GiB (bench/results/runtime/oom_recheck_S36/), so its real allocated peak is measured: predicted
#    23.79 GiB allocated, 3.63 s/iter;
# 3. batch b36-1gpu-stock (commit of this script), the search's winners under --executors deepspeed --no-pipeline
#    --no-tp, held out; predicted (h200-1gpu-node):
#   auto-qw15b-1g-c24-s4096-b32-ds  ZeRO-1 mb2 ga16 opt1, 6 recomputed    3.77 s/iter, peak 23.0 GiB, host 34 GiB
#   auto-g2xl-1g-c16-s1024-b64-ds   ZeRO-1 mb8 ga8 opt1, 31 recomputed    2.51 s/iter, peak 15.2 GiB, host 34 GiB
#   auto-l323b-1g-c24-s4096-b16-ds  ZeRO-1 mb1 ga16 opt1, 7 recomputed    4.56 s/iter, peak 22.9 GiB, host 67 GiB
#   auto-mis7b-1g-c78-s4096-b16-ds  ZeRO-3 mb2 ga8 opt0.5 blk, 29 recomp 10.28 s/iter, peak 74.5 GiB, host 76 GiB
#   (the runner leaves out what its budget cannot hold; call 2 runs the rest with --skip-existing).
# Unpack: python bench/accuracy/unpack.py $X/r/b36/<bundle>.json
source bench/calls/prefix.sh
prebuild &
timeout 200 python3 -m pytest -q -m gpu tests/runtime/test_gpu_block.py -k padded -p no:cacheprovider > $R/gpu_padded.log 2>&1; echo "rc $?" >> $R/gpu_padded.log
pack
trainrun oom_recheck_cap32 bench/results/runtime/oom_recheck_S36/auto-l323b-1g-c24-s4096-b16.cap32.plan.json 29541 150
wait
python3 bench/accuracy/run_batch.py --batch b36-1gpu-stock --skip-existing --out $R/b36 --gpus 1 --budget-s $((580 - SECONDS)) --no-build > $R/b36.log 2>&1
echo "rc $?" >> $R/b36.log
pack
