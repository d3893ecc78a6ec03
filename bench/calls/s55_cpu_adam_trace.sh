# Session 55 (issue 10; nvidia-h100-x1, timeout_s ~570, LIMIT=560, carry .whl). Call S55-1 ran b52's two swap winners
# with the optimizer path set by hand to cpu_adam on a fast H100-node machine (pinned both ways 50 GB/s): -10.2%
# (Llama-2.7B c24, 2.093 s/iter vs 1.881) and -5.9% (Qwen3-1.7B c24), while their gpu_swap runs were within 1.3%; every
# committed H100 cpu_adam run is slower than priced (-2.7..-6.0%). Machine rate or model? On one machine: the profiler's
# host-step section (Adam, cast, beside-d2h slowdown), then a profiled step 4 of 5 of the Llama-2.7B cpu_adam run
# (bench/engine/step_timeline.py --waits on its digest: the update's host / d2h / h2d parts), then the same run
# unprofiled (6 steps), then the Qwen3-1.7B cpu_adam run unprofiled if the budget leaves room.
source bench/calls/prefix.sh
D=bench/results/runtime/h100_cpu_adam_S55 A=bench/results/accuracy
lscpu > $R/lscpu.txt 2>&1
timeout 120 python3 -m mist_ds.profile --sections cpu_adam --out $R/cpu_step.json --raw-out $R/cpu_step.raw.json \
  --fallback h100-1gpu-node > $R/cpu_step.log 2>&1; echo "rc $?" >> $R/cpu_step.log
timeout 30 python3 bench/engine/pcie_share.py --out $R/pcie_share_60m.json --gib 0.05859375 --reps 32 > $R/pcie_share.log 2>&1
prebuild; pack
mkdir -p $R/traces
MIST_DS_TRACE_DIR=$R/traces MIST_DS_TRACE_STEP=4 MIST_DS_TRACE_NAME=l27cpu timeout 220 python3 -m deepspeed.launcher.runner \
  --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port 29871 bench/runtime/traced_train.py \
  --plan $A/h100n-auto-l27-1g-c24-s2048-b16.plan.json --ds-config $D/h100n-auto-l27-1g-c24-s2048-b16.cpu_adam.ds_config.json \
  --steps 5 --warmup 2 --report $R/l27cpu.profiled-run.json --hardware h100-1gpu-node > $R/l27cpu.log 2>&1; echo "rc $?" >> $R/l27cpu.log
for t in $R/traces/*.trace.json.gz; do [ -f "$t" ] && zcat "$t" > /tmp/tr.json && timeout 90 python3 \
  bench/engine/trace_digest.py /tmp/tr.json --out ${t%.trace.json.gz}.digest.json.gz >> $R/l27cpu.log 2>&1; rm -f "$t"; done
pack
python3 - <<'PY'
import json, os
D, A, R = "bench/results/runtime/h100_cpu_adam_S55", "bench/results/accuracy", os.environ["OUT"] + "/r"
json.dump([{"name": n, "plan": f"{A}/{n}.plan.json", "timeout_s": 110,
            "train_args": ["--ds-config", f"{D}/{n}.cpu_adam.ds_config.json"]}
           for n in ("h100n-auto-l27-1g-c24-s2048-b16", "h100n-auto-q3-17b-1g-c24-s4096-b16")],
          open(f"{R}/jobs_cpu_adam.json", "w"), indent=1)
PY
python3 bench/accuracy/run_batch.py --jobs $R/jobs_cpu_adam.json --out $R/cpu_adam --gpus 1 --no-build \
  --budget-s $(( ${LIMIT:-560} - 5 - SECONDS )) > $R/cpu_adam.log 2>&1; echo "rc $?" >> $R/cpu_adam.log
pack
