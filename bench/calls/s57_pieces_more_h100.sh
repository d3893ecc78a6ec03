# Session 57 (nvidia-h100-x1; timeout_s ~570, LIMIT=560, carry .whl); issue 10. After S57-2 (the norm in pieces took
# 2.9-4.6 GiB off the reserved peaks of the three untied 128-152k-token winners): more of the H100 node's mistpipe
# winners with an offloaded optimizer share, as repeats under today's engine (repeats.py add BUNDLE S57-3), in the
# order of bench/calls/s57_pieces_more.json; run_batch skips what the budget cannot hold. Predicted reserved GiB
# (cost model at this commit), measured under the engine before session 57 in brackets:
#   h100n-auto-l38b-1g-c78-s4096-b16     58.60  (61.89)
#   h100n-auto-q3-4b-1g-c40-s4096-b16    38.30  (38.74)
#   h100n-auto-q3-17b-1g-c40-s4096-b16   38.83  (39.20)
#   h100n-auto-q3-17b-1g-c24-s4096-b16   20.81  (21.18)
#   h100n-auto-mis7b-1g-c40-s2048-b16    38.79  (39.39)
#   h100n-auto-q3-4b-1g-c78-s4096-b16    68.68  (68.89)
#   h100n-auto-l323b-1g-c24-s4096-b16    23.72  (23.55)
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s57_pieces_more.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-560} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
