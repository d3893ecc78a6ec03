# Session 22, call 1 (nvidia-h200, 1 GPU, ~9 min; timeout_s 595): issue 10. Does fetching ZeRO-3 parameters a
# whole block at a time take the 1-GPU ZeRO-3 plans off the host path? DeepSpeed hooks and fetches every
# submodule by default (parameter_offload.py _register_deepspeed_module); a module flagged as a "z3 leaf"
# (deepspeed.utils.set_z3_leaf_modules) is fetched and released as one unit, its children unhooked. The
# runtime flags every TransformerBlock when MIST_DS_EXPERIMENT_Z3_LEAF=block (runtime/build.py, experiment only).
# Same two plans as S20-3, module / block alternating in one call, 6 timed steps each.
source bench/calls/prefix.sh
prebuild
clocklog
P=bench/results/accuracy
job() { echo "{\"name\": \"$1\", \"plan\": \"$P/$1.plan.json\", \"steps\": $2, \"warmup\": 2}"; }
batch() {  # batch LABEL UNIT BUDGET
  { echo "[$(job l27-1g-c78-b4-z3-mb2-rc16 6), $(job l13b-1g-c40-s2048-z3-mb4-rc24 6)]"; } > $R/jobs-$1.json
  MIST_DS_EXPERIMENT_Z3_LEAF=$2 python3 bench/accuracy/run_batch.py --jobs $R/jobs-$1.json --out $R/$1 --gpus 1 \
    --budget-s $3 --no-build > $R/$1.log 2>&1
  echo "rc $?" >> $R/$1.log
}
batch module-a module 115
batch block-a block 115
batch module-b module 115
batch block-b block 115
kill %1 2>/dev/null
pack
