# Session 37, call 2 (nvidia-h200, 1 GPU; timeout_s 600):
# 1. the GPU block tests of a Llama block with GQA rotating 3/4 of each head (Phi-4-mini's partial_rotary_factor):
#    the Liger / compiled / auto kernels against the torch block, and its saved storages per RoPE kernel against
#    cost/activations.py (tests/runtime/test_gpu_block.py -k phi3);
# 2. batch b40-1gpu-phi3 (commit of this script): the search's winners for Phi-3-mini-4k (seq 2047, its window),
#    held out; predicted (h200-1gpu-node):
#   auto-phi3m-1g-c24-s2047-b32      mistpipe mb1 ga32, optimizer offloaded            3.81 s/iter, peak 22.6 GiB, host 45 GiB
#   auto-phi3m-1g-c24-s2047-b32-ds   stock ZeRO-1 mb1 ga32, optimizer+grads offloaded  5.24 s/iter, peak 21.6 GiB, host 71 GiB
#   auto-phi3m-1g-c78-s2047-b32      mistpipe mb2 ga16, optimizer 0.25 offloaded       2.97 s/iter, peak 71.3 GiB, host 12 GiB
# 3. a repeat of b36's Mistral-7B stock winner (ZeRO-3 block fetch, optimizer 0.5 offloaded: 11.243 s/iter in S36-1
#    against 10.281 predicted), label S37-2.
# Unpack: python bench/accuracy/unpack.py $X/r/b40/<bundle>.json; python bench/accuracy/repeats.py add $X/r/rep/<bundle>.json S37-2
source bench/calls/prefix.sh
prebuild &
timeout 150 python3 -m pytest -q -m gpu tests/runtime/test_gpu_block.py -k phi3 -p no:cacheprovider > $R/gpu_tests.log 2>&1; echo "rc $?" >> $R/gpu_tests.log
pack
wait
python3 bench/accuracy/run_batch.py --batch b40-1gpu-phi3 --skip-existing --out $R/b40 --gpus 1 --budget-s $((440 - SECONDS)) --no-build > $R/b40.log 2>&1
echo "rc $?" >> $R/b40.log
pack
python3 bench/accuracy/run_batch.py --jobs bench/calls/s37_mis7b_repeat.json --out $R/rep --gpus 1 --budget-s $((585 - SECONDS)) --no-build > $R/rep.log 2>&1
echo "rc $?" >> $R/rep.log
pack
