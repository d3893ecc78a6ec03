#!/usr/bin/env bash
# Written by mist_ds autotune. Runs plan.json of this folder with DeepSpeed; when every rank runs out of
# memory (exit 3) or a rank is killed by a signal, runs fallback/1, fallback/2, ... in turn and records
# every attempt in attempts.json (python -m mist_ds.run; its own flags: --fallbacks K, --master-port N).
# Extra arguments go to the training entry, e.g. ./launch.sh --steps 20 --report run.json
# The winner alone, by hand, from this folder: deepspeed --hostfile hostfile --no_ssh_check --master_addr 127.0.0.1 --module mist_ds.train --plan plan.json
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
# NVLink multicast (NVLS) off; DeepSpeed's op builder cannot parse '9.0a' (DESIGN.md).
export NCCL_NVLS_ENABLE="${NCCL_NVLS_ENABLE:-0}"
if [[ "${TORCH_CUDA_ARCH_LIST:-}" == "9.0a" ]]; then export TORCH_CUDA_ARCH_LIST=9.0; fi
writer_bin=/opt/torch/.venv/bin  # the environment that wrote this folder
if [[ -x "$writer_bin/deepspeed" && -x "$writer_bin/python" ]]; then
  deepspeed="$writer_bin/deepspeed"; python="$writer_bin/python"
elif deepspeed="$(command -v deepspeed)"; then
  python="$(dirname -- "$deepspeed")/python"
  if [[ ! -x "$python" ]]; then  # the interpreter of deepspeed's own '#!' line, else python3
    read -r shebang < "$deepspeed" || true
    python="${shebang#\#!}"; python="${python%% *}"
    [[ -x "$python" && "$python" != */env ]] || python="$(command -v python3 || echo python3)"
  fi
else
  echo "launch.sh: error: no deepspeed in $writer_bin (the environment that wrote this folder) or on PATH; activate the environment where mist_ds is installed" >&2
  exit 2
fi
exec "$python" -m mist_ds.run "$here" --deepspeed "$deepspeed" "$@"
