# Session 12, call 4 (nvidia-h200, 1 GPU, ~8 min): issue 13. mistpipe's GPU swap now reads device-section gradients
# in the accumulation buffer instead of sending them to the host and back (runtime/mistpipe/optimizer.py take_chunk).
# A/B in one call on the 1-GPU node's two gpu_swap winners: launch/train.py (gradients on the device) against
# bench/engine/swap_via_host_train.py (the round trip of before), c24 (all gradients on the device) then c16
# (half of them in host sections), 4 timed steps each.
source bench/calls/prefix.sh
prebuild
E=bench/results/engine
job() { echo "{\"name\": \"$1-$2\", \"plan\": \"$E/executor_compare_llama2.7b_1gpu_$1/mistpipe.plan.json\", \"steps\": 6, \"warmup\": 2,
  \"train_args\": [\"--ds-config\", \"$E/executor_compare_llama2.7b_1gpu_$1/mistpipe.ds_config.json\"]$3}"; }
VIA=', "train_script": "bench/engine/swap_via_host_train.py"'
{ echo "["; job c24 device; echo ","; job c24 host "$VIA"; echo ","; job c16 device; echo ","; job c16 host "$VIA"; echo "]"; } > $R/swap_jobs.json
clocklog
python3 bench/accuracy/run_batch.py --jobs $R/swap_jobs.json --out $R/swap --gpus 1 --budget-s 480 --no-build > $R/swap.log 2>&1
echo "rc $?" >> $R/swap.log
kill %1 2>/dev/null
pack
