# Session 54 prepared this for a later session (nvidia-h100-x1; timeout_s ~300, LIMIT=290, carry .whl); issue 10.
# b55h's Qwen2-0.5B winner (h100n-auto-qw05b-1g-c24-s4096-b64: mistpipe, every weight offloaded, 32 micro-batches)
# ran -10.8% / -12.6% against its prediction with steps alternating 2.5-2.9 and 3.0-3.3 s, 22.97 of 24 GiB reserved
# and 5 allocator retries in each run (bench/results/runtime/h100_machines_S54/). Are the retries the slow steps?
# The plan as committed and the same plan with its cap raised to 30 GiB (nothing else changed; a diagnostic, its
# report kept under bench/results/runtime/, not scored), 10 steps each, one machine.
source bench/calls/prefix.sh
prebuild
python3 - <<'PY' > $R/jobs.log 2>&1
import json, os
from mist_ds.config import Plan
R, name = os.environ["OUT"] + "/r", "h100n-auto-qw05b-1g-c24-s4096-b64"
committed = f"bench/results/accuracy/{name}.plan.json"
raised = Plan.load(committed).model_copy(update={"gpu_memory_cap_bytes": 30 * 2**30})
open(f"{R}/{name}.cap30.plan.json", "w").write(raised.model_dump_json(indent=1))
for label, plan in (("committed", committed), ("cap30", f"{R}/{name}.cap30.plan.json")):
    json.dump([{"name": name, "plan": plan, "steps": 10, "timeout_s": 130}], open(f"{R}/jobs_{label}.json", "w"))
PY
for v in committed cap30; do
  python3 bench/accuracy/run_batch.py --jobs $R/jobs_$v.json --out $R/$v --gpus 1 --no-build \
    --budget-s $(( (${LIMIT:-290} - 5 - SECONDS) )) > $R/$v.log 2>&1; echo "rc $?" >> $R/$v.log; pack
done
