# Session 57 (nvidia-h100-x1; timeout_s ~290, LIMIT=280, carry .whl); issue 10. The two repeats S57-3's budget left
# out (bench/calls/s57_pieces_more_h100.sh has the why and the predictions):
#   h100n-auto-q3-4b-1g-c78-s4096-b16    68.68  (68.89)
#   h100n-auto-l323b-1g-c24-s4096-b16    23.72  (23.55)
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s57_pieces_rest.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-280} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
