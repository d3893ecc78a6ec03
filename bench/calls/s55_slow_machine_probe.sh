# Session 55 (issue 10; nvidia-h100-x1, timeout_s ~570, LIMIT=560, carry .whl). The start-up copy probe's check on a
# slow machine, if one comes. S54 found one H100-node machine in five whose pinned copies run both ways at ~32 GB/s per
# direction (the others ~50); S55-1 checked the probe on a fast one (pair 1.07-1.18 / 1.07-1.09 against pcie_share's
# 1.072 / 1.092, path kept). pcie_share first: below 42 GB/s both ways, b52's two swap winners probed, gpu_swap and
# cpu_adam by hand (the S55-1 ds_configs in bench/results/runtime/h100_cpu_adam_S55/), one bundle per variant; else
# only Llama-2.7B c24 probed (S55-1's budget left it out) and the call ends, sparing the device budget.
source bench/calls/prefix.sh
D=bench/results/runtime/h100_cpu_adam_S55 A=bench/results/accuracy
timeout 30 python3 bench/engine/pcie_share.py --out $R/pcie_share_60m.json --gib 0.05859375 --reps 32 > $R/pcie_share.log 2>&1
both=$(python3 -c "import json; print(int(json.load(open('$R/pcie_share_60m.json'))['pinned_both_one_gpu']['gbps_per_gpu_per_direction']))" 2>/dev/null || echo 0)
echo "both ways $both GB/s per direction" > $R/machine_kind.txt
prebuild
python3 - "$both" <<'PY'
import json, os, sys
D, A, R = "bench/results/runtime/h100_cpu_adam_S55", "bench/results/accuracy", os.environ["OUT"] + "/r"
slow = 0 < int(sys.argv[1]) < 42
names = ("h100n-auto-q3-17b-1g-c24-s4096-b16", "h100n-auto-l27-1g-c24-s2048-b16") if slow else ("h100n-auto-l27-1g-c24-s2048-b16",)
for variant in ("probe", "gpu_swap", "cpu_adam") if slow else ("probe",):
    extra = {} if variant == "probe" else {"train_args": ["--ds-config", "{D}/{n}.{v}.ds_config.json"]}
    jobs = [{"name": n, "plan": f"{A}/{n}.plan.json", "timeout_s": 110,
             **{k: [a.format(D=D, n=n, v=variant) for a in v] for k, v in extra.items()}} for n in names]
    json.dump(jobs, open(f"{R}/jobs_{variant}.json", "w"), indent=1)
PY
variants=$(ls $R/jobs_*.json | sed 's/.*jobs_\(.*\)\.json/\1/'); left=$(echo $variants | wc -w)
for v in $variants; do
  python3 bench/accuracy/run_batch.py --jobs $R/jobs_$v.json --out $R/$v --gpus 1 --no-build \
    --budget-s $(( (${LIMIT:-560} - 5 - SECONDS) / left )) > $R/$v.log 2>&1; echo "rc $?" >> $R/$v.log
  left=$((left - 1)); pack
done
