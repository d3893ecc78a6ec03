# Session 7, call 4 (nvidia-h200, 1 GPU): bench/runtime/rope_layout_probe.py (the layout cuDNN SDPA's backward
# hands the compiled RoPE, and forward + backward time of eager / (b,s,h,d) / (b,h,s,d) outputs). S7-3 found the
# fused-projection RoPE's backward kernel at 303 us per block in situ (0.83 TB/s) where its benchmark with
# gradients laid out like q ran ~3x faster. No DeepSpeed op is needed (no prebuild).
source bench/calls/prefix.sh
timeout 240 python3 bench/runtime/rope_layout_probe.py --out $R/rope_layout.json > $R/rope_layout.log 2>&1
echo "rc $?" >> $R/rope_layout.log
pack
