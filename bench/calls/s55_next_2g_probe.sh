# Session 55 prepared this for a session with a 2-GPU node (nvidia-h200-x2 or nvidia-h100-x2; timeout_s ~570,
# LIMIT=560, carry .whl); issue 10. The start-up copy probe (mist_ds/runtime/copy_probe.py) has run only on 1-GPU
# nodes (bench/results/runtime/h100_cpu_adam_S55/: it re-priced two swap winners to the host's Adam on a slow machine,
# 1.045x / 1.056x faster). On two GPUs both ranks probe at once, so their pair holds the host link's sharing
# (bench/engine/pcie_share.py "all_gpus"), and the ranks take the largest. The 2-GPU suite winner with every
# optimizer state offloaded (auto-l27-2g-c24-s4096-b32: mistpipe dp 2, ZeRO-1, committed on the h200 profile, 2.779
# s/iter predicted) three ways on one machine: probed, gpu_swap by hand, cpu_adam by hand; pcie_share beside them.
# Then: repeats.py add each bundle (labels S<N>-probe / -gpu-swap / -cpu-adam; an H100 pair is scored on
# h100-sxm-80gb), `make accuracy`, and compare each run's copy_slowdowns with pcie_share's all-GPU ratios.
source bench/calls/prefix.sh
timeout 30 python3 bench/engine/pcie_share.py --out $R/pcie_share_60m.json --gib 0.05859375 --reps 32 > $R/pcie_share.log 2>&1
prebuild
python3 - <<'PY' > $R/jobs.log 2>&1
import json, os
from mist_ds.config import Plan
from mist_ds.config.profiles import load_hardware
from mist_ds.emit.ds_config import PATH_KEYS, build_ds_config
R, name = os.environ["OUT"] + "/r", "auto-l27-2g-c24-s4096-b32"
plan_path = f"bench/results/accuracy/{name}.plan.json"
for variant in ("probe", "gpu_swap", "cpu_adam"):
    job = {"name": name, "plan": plan_path, "timeout_s": 150}
    if variant != "probe":
        config = build_ds_config(Plan.load(plan_path), hardware=load_hardware("h200"))
        for stage in config["mistpipe"]["stages"]:
            stage.update({PATH_KEYS[0]: variant, PATH_KEYS[1]: "set by hand (S55 2-GPU probe check)"})
        json.dump(config, open(f"{R}/{name}.{variant}.ds_config.json", "w"))
        job["train_args"] = ["--ds-config", f"{R}/{name}.{variant}.ds_config.json"]
    json.dump([job], open(f"{R}/jobs_{variant}.json", "w"), indent=1)
PY
left=3
for v in probe gpu_swap cpu_adam; do
  python3 bench/accuracy/run_batch.py --jobs $R/jobs_$v.json --out $R/$v --gpus 2 --no-build \
    --budget-s $(( (${LIMIT:-560} - 5 - SECONDS) / left )) > $R/$v.log 2>&1; echo "rc $?" >> $R/$v.log
  left=$((left - 1)); pack
done
