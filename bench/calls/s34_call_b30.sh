# Session 34, call 1 (nvidia-h200, 1 GPU; timeout_s 600): batch b30-1gpu-new-families, the search's winners for two
# model families no run had trained, given as Hugging Face config.json files (tests/data/hf_configs/), predicted
# on h200-1gpu-node with the model of this commit (`python bench/accuracy/generate.py --cases ... --hardware
# h200-1gpu-node`):
#   auto-qw05b-1g-c16-s4096-b32  1.442 s/iter, peak 15.00 GiB (stock ZeRO-0 mb4 ga8, 21 of 24 blocks recomputed)
#   auto-qw05b-1g-c40-s8192-b16  1.404 s/iter, peak 28.45 GiB (stock ZeRO-0 mb2 ga8, none recomputed)
#   auto-mis7b-1g-c78-s4096-b16  6.409 s/iter, peak 74.39 GiB, host 62.5 GiB (mistpipe mb1 ga16, optimizer 0.75 offloaded, 2 of 32 recomputed)
#   auto-mis7b-1g-c40-s4096-b16  7.719 s/iter, peak 38.24 GiB, host 89.2 GiB (mistpipe mb1 ga16, weights 0.5 + optimizer offloaded, 9 of 32 recomputed)
# A case the budget skips runs in the next call (--skip-existing).
# Unpack: python bench/accuracy/unpack.py $X/r/b30/<bundle>.json
source bench/calls/prefix.sh
clocklog
prebuild
python3 bench/accuracy/run_batch.py --batch b30-1gpu-new-families --skip-existing --out $R/b30 --gpus 1 --budget-s $((585 - SECONDS)) --no-build > $R/b30.log 2>&1
echo "rc $?" >> $R/b30.log
kill $(jobs -p) 2>/dev/null; pack
