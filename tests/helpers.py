"""Test fixtures shared across test folders: building version-2 plans in one line."""

from __future__ import annotations

import contextlib
import glob
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from mist_ds.config import ClusterSpec, ModelSpec, Plan, StagePlan
from mist_ds.config.plan import MemoryStrategy


def make_plan(model: ModelSpec, stages: list[dict], *, dp: int = 1, tp: int = 1, micro_batch: int = 2,
              global_batch: int = 8, seq_len: int = 32, zero_stage: int = 1, offload_weights: float = 0.0,
              offload_optimizer: float = 0.0, offload_gradients: float | None = None, **plan_fields) -> Plan:
    """A plan from per-stage dicts holding 'end' (layer_end) and optional StagePlan fields; gradients
    are offloaded with the optimizer states unless said otherwise; grad accum follows from the batch."""
    built, start = [], 0
    for stage in stages:
        fields = dict(stage)
        end = fields.pop("end")
        built.append(StagePlan(layer_start=start, layer_end=end, **fields))
        start = end
    memory = MemoryStrategy(zero_stage=zero_stage, offload_weights_ratio=offload_weights,
                            offload_optimizer_ratio=offload_optimizer,
                            offload_gradients_ratio=offload_optimizer if offload_gradients is None
                            else offload_gradients)
    gpus = dp * tp * len(built)
    return Plan(model=model, cluster=ClusterSpec(num_nodes=1, gpus_per_node=gpus), global_batch_size=global_batch,
                seq_len=seq_len, dp=dp, tp=tp, micro_batch_size=micro_batch,
                grad_accum_steps=global_batch // (micro_batch * dp), memory=memory, stages=tuple(built),
                **plan_fields)


def child_pythonpath(root) -> str:
    """PYTHONPATH for a process a test launches: the repository `root` first, then
    tests/subprocess_site, whose sitecustomize reads the CPU info the session measured once."""
    return os.pathsep.join([str(root), os.path.join(os.path.dirname(os.path.abspath(__file__)), "subprocess_site")])


def spawn_ranks(script: str, ranks: int, port: int, args: list[str], *, cwd, env: dict,
                timeout: float) -> subprocess.CompletedProcess:
    """`ranks` processes `python -u SCRIPT --local_rank=I ARGS` on this host with the environment DeepSpeed's
    launcher gives its ranks on one node (deepspeed/launcher/launch.py: MASTER_*, WORLD_SIZE, RANK,
    LOCAL_RANK, LOCAL_SIZE, CROSS_*), without the launcher's own two processes (`deepspeed` and
    launch.py, two more `import deepspeed`s and a 1 s polling loop, 5-10 s a launch on 2 cores). When one
    rank fails the others are killed, as launch.py does. For tests of worker code, not of the launcher:
    the tests of launch/train.py, launch.sh and the fallback wrapper keep the real `deepspeed`."""
    base = {**env, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(ranks),
            "CROSS_RANK": "0", "CROSS_SIZE": "1", "LOCAL_SIZE": str(ranks)}
    argv = [sys.executable, "-u", script]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        procs = [subprocess.Popen([*argv, f"--local_rank={rank}", *args], cwd=cwd, stdout=out, stderr=err,
                                  env={**base, "RANK": str(rank), "LOCAL_RANK": str(rank)})
                 for rank in range(ranks)]
        deadline, code = time.monotonic() + timeout, 0
        while any(p.poll() is None for p in procs) and not code:
            code = next((p.returncode for p in procs if p.returncode not in (None, 0)), 0)
            if time.monotonic() > deadline:
                code = -9
            time.sleep(0.05)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        remove_shm_buffers([port])
        code = code or next((p.returncode for p in procs if p.returncode), 0)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(argv, code, out.read(), err.read())


# ports handed out by free_port() in this process: DeepSpeed's CPU shm all-reduce (its deepspeed_shm_comm
# op, loaded by every CPU rank) creates /dev/shm/deepspeed_allreduce_buffer_0_<addr>_<port>_<rank>
# (66 MiB each) and never unlinks them; tmpfs counts against host memory, so the runtime's host-memory
# check saw 2.5 of 23 GiB available after a few runs. remove_shm_buffers() deletes this session's.
USED_PORTS: set[int] = set()


# Master ports come from a block of their own per xdist worker, below Linux's ephemeral range
# (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default): a port merely free when asked (bind to
# port 0) can be handed out again by the kernel as another process's ephemeral port before DeepSpeed's
# TCPStore listens on it (CI failure of 2026-12-05: EADDRINUSE on the master port).
_PORT_BASE, _PORT_BLOCK = 12000, 1000
_port_counter = [os.getpid() % _PORT_BLOCK]


def _worker_index() -> int:
    """This xdist worker's number (gw3 -> 3; 0 outside xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker[2:].isdigit() else 0


def free_port() -> int:
    """A TCP port nothing listens on now, from this worker's own block below the ephemeral range (for a
    test's DeepSpeed master; tests run in parallel)."""
    base = _PORT_BASE + (_worker_index() % 16) * _PORT_BLOCK
    for _ in range(_PORT_BLOCK):
        _port_counter[0] = (_port_counter[0] + 1) % _PORT_BLOCK
        port = base + _port_counter[0]
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        USED_PORTS.add(port)
        return port
    raise RuntimeError(f"no free port in {base}-{base + _PORT_BLOCK - 1}")


def remove_shm_buffers(ports) -> None:
    """Delete DeepSpeed's leaked shm all-reduce buffers of finished runs on these master ports."""
    for port in ports:
        for path in glob.glob(f"/dev/shm/deepspeed_allreduce_buffer_*_127.0.0.1_{port}_*"):
            with contextlib.suppress(OSError):
                os.unlink(path)


# Block flag combinations the runtime and cost model must both handle (GPT-2, Llama, GQA, Qwen2's
# q/k/v bias, GPT-NeoX's partial RoPE + parallel residual, a head size that is not hidden / heads as
# Mistral-Nemo's and Qwen3's: 24 here, whatever the width a test gives, and Qwen3's per-head q/k RMSNorms
# with it, a Llama block with GQA rotating 3/4 of each head as Phi-4-mini's partial_rotary_factor, and one with YaRN's
# scaled frequencies and cos / sin tables 1.14 times a rotation's); overrides for tiny_model().
_LLAMA_FLAGS = dict(family="llama", norm="rmsnorm", activation="swiglu", position_embedding="rope",
                    linear_bias=False, tie_embeddings=False)
ARCHITECTURE_VARIANTS: dict[str, dict[str, Any]] = {
    "gpt": {},
    "llama": _LLAMA_FLAGS,
    "llama-gqa": {**_LLAMA_FLAGS, "num_kv_heads": 2},
    "qwen-qkv-bias": {**_LLAMA_FLAGS, "qkv_bias": True},
    "neox-partial-rope-parallel": {"position_embedding": "rope", "rotary_fraction": 0.25,
                                   "parallel_residual": True},
    "decoupled-head": {**_LLAMA_FLAGS, "head_dim_override": 24},
    "qwen3": {**_LLAMA_FLAGS, "num_kv_heads": 2, "head_dim_override": 24, "qk_norm": True},
    "phi3-partial-rope": {**_LLAMA_FLAGS, "num_kv_heads": 2, "rotary_fraction": 0.75},
    "yarn": {**_LLAMA_FLAGS, "num_kv_heads": 2,
             "rope_scaling": {"kind": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}},
}


def tiny_model(**overrides: Any) -> ModelSpec:
    """A 2-layer GPT small enough for CPU tests and smoke runs; `overrides` change any field."""
    fields: dict[str, Any] = dict(
        name="tiny", family="gpt", num_layers=2, hidden_size=32, num_heads=4, num_kv_heads=4,
        ffn_hidden_size=64, vocab_size=256, max_seq_len=64, tie_embeddings=True, norm="layernorm",
        activation="gelu", position_embedding="learned", linear_bias=True,
    )
    fields.update(overrides)
    return ModelSpec(**fields)


def run_in_process(main, args: list[str], cwd) -> subprocess.CompletedProcess:
    """A CLI's `main(argv)` called in this process from folder `cwd`, with its stdout / stderr captured:
    a CompletedProcess like subprocess.run gives (the CLI tests run in-process; each CLI keeps one
    subprocess test of its real `python -m` entry)."""
    out, err, before = io.StringIO(), io.StringIO(), os.getcwd()
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as stop:  # a CLI that exits instead of returning its code
                code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


