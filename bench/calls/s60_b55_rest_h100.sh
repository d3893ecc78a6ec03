# Session 60 (nvidia-h100-x1, warm; timeout_s ~420, LIMIT=410, carry .whl); issue 10. The two b55 cases (plans searched on
# h200-1gpu-node in session 53) that the session's first call's budget left out, on the same H100 machine as the other
# three: Qwen3-4B at 78 GiB and Mistral-7B at 40 GiB. Then unpack.py on $R/rep/accuracy_s60_b55_rest_h100.json.
source bench/calls/prefix.sh
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s60_b55_rest_h100.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-410} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
