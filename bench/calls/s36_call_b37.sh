# Session 36, call 3 (nvidia-h200, 1 GPU; timeout_s 600):
# 1. the GPU tests of the decoupled head size and Qwen3's q/k norms (tests/runtime/test_gpu_block.py: a block's saved
#    storages byte for byte per RoPE kernel, fused vs eager, bf16 vs fp32; tests/cost/test_saved_calls.py: the
#    CUDA saves call by call), each variant against cost/activations.py;
# 2. batch b38-1gpu-qwen3 (commit of this script), the search's winners for four Qwen3 workloads, held out;
#    predicted (h200-1gpu-node):
#   auto-q3-06b-1g-c16-s4096-b32   stock ZeRO-0 mb4 ga8, 28 recomputed          2.12 s/iter, peak 14.8 GiB
#   auto-q3-4b-1g-c40-s4096-b16    mistpipe mb1 ga16, optimizer offloaded       4.42 s/iter, peak 37.8 GiB, host 47 GiB
#   auto-q3-17b-1g-c24-s4096-b32   mistpipe mb1 ga32, optimizer offloaded       3.50 s/iter, peak 20.1 GiB, host 21 GiB
#   auto-q3-8b-1g-c78-s4096-b16    mistpipe mb1 ga16, optimizer offloaded       7.54 s/iter, peak 60.4 GiB, host 93 GiB
# 3. batch b37-1gpu-rewon: the search's new stock winner for b36's Llama 3.2 3B 24 GiB workload:
#   auto-l323b-1g-c24-s4096-b16-ds-s36  ZeRO-1 mb1 ga16 opt1, 8 recomputed   4.59 s/iter, peak 23.0 GiB, host 67 GiB
# (the runner leaves out what its budget cannot hold; a later call runs the rest with --skip-existing).
# Unpack: python bench/accuracy/unpack.py $X/r/b38/<bundle>.json (and b37)
source bench/calls/prefix.sh
prebuild &
timeout 170 python3 -m pytest -q -m gpu tests/runtime/test_gpu_block.py tests/cost/test_saved_calls.py -p no:cacheprovider > $R/gpu_tests.log 2>&1; echo "rc $?" >> $R/gpu_tests.log
pack
wait
python3 bench/accuracy/run_batch.py --batch b38-1gpu-qwen3 --skip-existing --out $R/b38 --gpus 1 --budget-s $((575 - SECONDS)) --no-build > $R/b38.log 2>&1
echo "rc $?" >> $R/b38.log
pack
python3 bench/accuracy/run_batch.py --batch b37-1gpu-rewon --skip-existing --out $R/b37 --gpus 1 --budget-s $((585 - SECONDS)) --no-build > $R/b37.log 2>&1
echo "rc $?" >> $R/b37.log
pack
