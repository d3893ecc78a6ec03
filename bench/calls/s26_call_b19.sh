# Session 26, S26-1 (nvidia-h200, 1 GPU; timeout_s 600): issue 10. Batch b19-1gpu-llama32-3b: Llama 3.2 3B (GQA, 8 kv heads,
# head tied to a 128k vocabulary), a model family no run had seen, held out of every fit; seq 4096, global batch 16.
# Predicted on h200-1gpu-node before the call (bench/accuracy/generate.py --hardware h200-1gpu-node):
#   auto-l323b-1g-c78-s4096-b16                      2.619 s/iter, peak 71.9 GiB
#   l323b-1g-c78-s4096-b16-z1-mb1                    2.709 s/iter, peak 65.9 GiB
#   l323b-1g-c78-s4096-b16-z3-mb2-blk                2.718 s/iter, peak 71.8 GiB
#   l323b-1g-c78-s4096-b16-z2-mb4-rc28               3.366 s/iter, peak 65.9 GiB
#   auto-l323b-1g-c40-s4096-b16                      3.176 s/iter, peak 38.7 GiB
#   l323b-1g-c40-s4096-b16-z1-off1-mb2               4.191 s/iter, peak 37.0 GiB
#   auto-l323b-1g-c24-s4096-b16                      3.639 s/iter, peak 23.2 GiB
# Commit with python bench/accuracy/unpack.py $FILES_AT/r/b19-1gpu-llama32-3b/<bundle>.json.
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --batch b19-1gpu-llama32-3b --out $R/b19-1gpu-llama32-3b --gpus 1 --budget-s $((560 - SECONDS)) --no-build > $R/b19-1gpu-llama32-3b.log 2>&1
echo "rc $?" >> $R/b19-1gpu-llama32-3b.log
pack
