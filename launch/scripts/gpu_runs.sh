#!/usr/bin/env bash
# Run plan files on this host's GPUs, one after another, each bounded in time, and collect the
# RunReports. Usage: launch/scripts/gpu_runs.sh OUTDIR NAME=PLAN:STEPS:WARMUP:TIMEOUT_S ...
# Needs deepspeed importable by python3 (PYTHONPATH) and NCCL_NVLS_ENABLE=0 in the environment.
set -u
out=$1; shift
mkdir -p "$out"
gpus=$(nvidia-smi --query-gpu=name --format=csv,noheader | wc -l)
printf 'localhost slots=%s\n' "$gpus" > /tmp/mist_hostfile
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv > "$out/gpus.csv"
port=29700
for job in "$@"; do
  name=${job%%=*}; rest=${job#*=}
  IFS=: read -r plan steps warmup limit <<< "$rest"
  port=$((port + 1))
  start=$(date +%s)
  timeout -k 10 "$limit" python3 -m deepspeed.launcher.runner --hostfile /tmp/mist_hostfile \
      --no_ssh_check --master_addr 127.0.0.1 --master_port "$port" launch/train.py --plan "$plan" \
      --steps "$steps" --warmup "$warmup" --report "$out/runs_$name.json" > "/tmp/$name.log" 2>&1
  rc=$?
  grep -v "UserWarning\|return Variable\|^\s*$" "/tmp/$name.log" | tail -c 20000 > "$out/$name.log"
  echo "$name: exit $rc after $(( $(date +%s) - start )) s"
  grep "\[mist_ds\]" "/tmp/$name.log" | tail -4
done
