# Session 57 prepared this for a later session (nvidia-h200 or nvidia-h100-x1; timeout_s ~330, LIMIT=320, carry .whl);
# issue 10. The H200 node's mistpipe winners whose reserved memory the model still misses most under the engine before
# session 57 (optimizer share on the GPU swap path; the norm's whole-chunk fp32 copy), repeated under the norm in pieces
# (RunReport.norm_in_pieces; bench/accuracy/RESERVED.md session 57): do they come within the hole term as the H100 node's
# untied heads did? Then `python bench/accuracy/repeats.py add $R/rep/accuracy_s57_next_pieces_h200n.json S<n>-<k>`
# (label: the call) and `make accuracy`. Reserved GiB predicted at this commit / measured in their first runs:
#   auto-l323b-1g-c24-s8192-b8   22.73 / 23.80 (-4.5%)
#   auto-g27-1g-c16-s2048-b16    15.11 / 15.70 (-3.8%)
#   auto-g2l-1g-c16-s1024-b64    15.26 / 15.71 (-2.9%)
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s57_next_pieces_h200n.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-320} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
