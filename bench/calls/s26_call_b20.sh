# Session 26, S26-2 (nvidia-h200, 1 GPU; timeout_s 600): issue 10. Batch b20-1gpu-llama32-1b: Llama 3.2 1B (GQA, 8 kv heads,
# head tied to a 128k vocabulary), a model family no run had seen, held out of every fit; seq 4096, global batch 16.
# Predicted on h200-1gpu-node before the call (bench/accuracy/generate.py --hardware h200-1gpu-node):
#   auto-l321b-1g-c24-s4096-b16                      1.350 s/iter, peak 22.5 GiB
#   l321b-1g-c24-s4096-b16-z3-mb2-rc14-blk           1.453 s/iter, peak 23.4 GiB
#   l321b-1g-c24-s4096-b16-z3-off0125-mb2-rc15-blk   1.579 s/iter, peak 23.1 GiB
#   l321b-1g-c24-s4096-b16-z2-off1-mb2               2.458 s/iter, peak 15.2 GiB
#   auto-l321b-1g-c40-s4096-b16                      1.171 s/iter, peak 30.8 GiB
#   l321b-1g-c40-s4096-b16-z1-mb1                    1.239 s/iter, peak 25.9 GiB
#   l321b-1g-c40-s4096-b16-z2-mb2                    1.196 s/iter, peak 32.4 GiB
#   l321b-1g-c40-s4096-b16-z3-mb4-rc16-blk           1.433 s/iter, peak 25.7 GiB
# Commit with python bench/accuracy/unpack.py $FILES_AT/r/b20-1gpu-llama32-1b/<bundle>.json.
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b20-1gpu-llama32-1b --out $R/b20-1gpu-llama32-1b --gpus 1 --budget-s $((560 - SECONDS)) --no-build > $R/b20-1gpu-llama32-1b.log 2>&1
echo "rc $?" >> $R/b20-1gpu-llama32-1b.log
pack
