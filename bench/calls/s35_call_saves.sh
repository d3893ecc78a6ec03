# Session 35, call 2 (nvidia-h200, 1 GPU; timeout_s 420): why the Pythia (GPT-NeoX) winners of b32 allocated
# 2-6% less than predicted, ~2.5 x hidden bytes per token and block on all four (GPT-2 XL within 0.6%).
# 1. bench/runtime/saved_bytes_gpu.py: one block's saved storages and retained allocation per architecture
#    variant x RoPE / SwiGLU implementation against cost/activations.py layer_saved_bytes (with the RoPE
#    kernel now deciding whether the o-projection saves a re-layout copy: activations.ROPE_CAT_LAYOUT);
# 2. the GPU tests of tests/runtime/test_gpu_block.py (the new per-RoPE-kernel saved-bytes test among them);
# 3. peaksites on auto-py14b-1g-c24-s2048-b32 (mistpipe, no op build): what is live at its allocated peak.
source bench/calls/prefix.sh
timeout 150 python3 bench/runtime/saved_bytes_gpu.py --out $R/saved_bytes.json > $R/saved_bytes.log 2>&1; echo "rc $?" >> $R/saved_bytes.log
pack
timeout 150 python3 -m pytest -q -m gpu tests/runtime/test_gpu_block.py -p no:cacheprovider > $R/gpu_block.log 2>&1; echo "rc $?" >> $R/gpu_block.log
pack
peaksites auto-py14b-1g-c24-s2048-b32 29531
pack
