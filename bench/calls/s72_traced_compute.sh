# Session 72 (nvidia-h100-x1; timeout_s 600, carry .whl); issue 10.
# Why does the H100 node price Pythia-1.4B's and Qwen2-0.5B's micro-batches 10-12% long (phased, step_phases_S72/call1:
# compute alone +10.4% / +9.5%) where Llama's and GPT-2 XL's land within -3..+4%? One profiled step each
# (bench/runtime/traced_train.py, step 4 of 5), ZeRO-0 plans (the step carries no ZeRO-1 flatten), GPT-2 XL's as the
# near-right reference; read per kernel category against the cost model with
#   PYTHONPATH=$PWD python bench/accuracy/trace_compare.py DIR/traces/NAME.rank0.digest.json.gz \
#       bench/results/accuracy/CASE.plan.json --hardware h100-1gpu-node --run DIR/NAME.profiled-run.json
source bench/calls/prefix.sh
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
for c in z0-py14b-1g-c78-s2048-b32:29741 z0-qw05b-1g-c40-s4096-b32:29742 z0-g2xl-1g-c78-s1024-b64:29743; do
  n=${c%:*}; traced $n bench/results/accuracy/h100n-$n-ds.plan.json ${c#*:} 120 h100-1gpu-node
  echo "$n done $SECONDS s" >> $R/machine.txt; pack
done
