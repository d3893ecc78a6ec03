# Session 54 prepared this for a later session (nvidia-h100-x1; timeout_s ~560, LIMIT=550, carry .whl); issue 10.
# Validates the start-up copy probe (mist_ds/runtime/copy_probe.py; RunReport.copy_slowdowns) on whichever H100 node
# machine comes: two swap winners of b52, each three ways on one machine: as emitted with the probe on (the engine
# re-prices the optimizer path on the measured pair), and with the path set by hand to gpu_swap and to cpu_adam (a
# hand-set path is never re-priced). Expect: on a machine whose pinned copies run both ways at ~32 GB/s per direction
# (S54-1/2) the probe picks cpu_adam and that run matches the cpu_adam one, faster than gpu_swap (predicted 521 vs
# 648 ms a step for q3-17b); at ~50 GB/s it keeps gpu_swap. pcie_share at 60 MiB beside them.
# Then: repeats.py add $R/rep/accuracy_s54_copy_probe.json S55-N, `make accuracy`, and compare each run's
# copy_slowdowns with pcie_share's alone / both ratios.
source bench/calls/prefix.sh
timeout 30 python3 bench/engine/pcie_share.py --out $R/pcie_share_60m.json --gib 0.05859375 --reps 32 > $R/pcie_share.log 2>&1
prebuild
python3 - <<'PY' > $R/jobs.log 2>&1
import json, os
from mist_ds.config import Plan
from mist_ds.emit.ds_config import PATH_KEYS, build_ds_config
from mist_ds.config.profiles import load_hardware
R = os.environ["OUT"] + "/r"
for variant in ("probe", "gpu_swap", "cpu_adam"):
    jobs = []
    for name in ("h100n-auto-q3-17b-1g-c24-s4096-b16", "h100n-auto-l27-1g-c24-s2048-b16"):
        plan_path = f"bench/results/accuracy/{name}.plan.json"
        job = {"name": name, "plan": plan_path, "timeout_s": 110}
        if variant != "probe":
            config = build_ds_config(Plan.load(plan_path), hardware=load_hardware("h100-1gpu-node"))
            config["mistpipe"]["stages"][0].update({PATH_KEYS[0]: variant,
                                                    PATH_KEYS[1]: "set by hand (S54 probe check)"})
            json.dump(config, open(f"{R}/{name}.{variant}.ds_config.json", "w"))
            job["train_args"] = ["--ds-config", f"{R}/{name}.{variant}.ds_config.json"]
        jobs.append(job)
    json.dump(jobs, open(f"{R}/jobs_{variant}.json", "w"), indent=1)
PY
# one bundle per variant (repeats.py add names a run by its case: labels S55-N-probe, -gpu-swap, -cpu-adam)
left=3
for v in probe gpu_swap cpu_adam; do
  python3 bench/accuracy/run_batch.py --jobs $R/jobs_$v.json --out $R/$v --gpus 1 --no-build \
    --budget-s $(( (${LIMIT:-550} - 5 - SECONDS) / left )) > $R/$v.log 2>&1; echo "rc $?" >> $R/$v.log
  left=$((left - 1)); pack
done
