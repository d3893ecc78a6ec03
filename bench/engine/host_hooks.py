"""Host time of mistpipe's per-block hooks (runtime/mistpipe/stage.py), on the CPU, per block pass.

    PYTHONPATH=$PWD DS_ACCELERATOR=cpu python3 bench/engine/host_hooks.py --out host_hooks.json
    PYTHONPATH=$PWD python3 bench/engine/host_hooks.py --device cuda --out host_hooks_cuda.json   # on a GPU

A stack of `--blocks` TransformerBlocks (GPT family, hidden `--hidden`, tiny so that compute is
negligible) runs forward + backward under a StageRuntime built as tests/runtime/test_mistpipe_units.py
builds one (one process, dp = 1, CPU streams), once per memory configuration (CONFIGS). Two numbers
per configuration, each per block pass (µs, the least of `--repeats` rounds of `--passes` passes):

- `overhead`: the wall time of the forward (backward) of the stack under the runtime minus that of
  the same stack without it (plain autograd), divided by the blocks: everything the runtime adds
  (hooks, saved-tensor pack/unpack, the _BlockBoundary node, parameter rebinding, the CPU copies);
- `hooks`: time inside each hook entry point (perf_counter around _forward_begin, _forward_end,
  pack, unpack, backward_begin, _on_grad, and _backward_end which runs inside the last _on_grad of
  a block), summed per block pass, in separate rounds (the timers cost ~0.2 µs a call).

What the CPU number leaves out (CPU streams are absent, events None, copies synchronous): every
CUDA stream call (event create/record, wait_event, wait_stream, record_stream, stream context
switches) and the launch cost of each device op the hooks queue (copy_, zero_, add_, empty); the
CPU copies of the tiny buffers stand in for those launches. The `stream_calls` and `device_ops`
columns count them per block pass, so that a GPU per-call cost times the count adds the rest;
`--device cuda` measures the same hooks with the real calls (pinned host buffers, CUDA streams), and
its `overhead` includes the tiny stack's kernel time on the device.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from mist_ds.config import ModelSpec  # noqa: E402
from mist_ds.runtime.blocks import TransformerBlock  # noqa: E402
from mist_ds.runtime.mistpipe import StageMemory  # noqa: E402
from mist_ds.runtime.mistpipe.stage import StageRuntime  # noqa: E402
from mist_ds.runtime.mistpipe.streams import Streams  # noqa: E402
from mist_ds.runtime.mistpipe.unit import UnitEnv  # noqa: E402

HYPER = {"lr": 1e-4, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.1}
ALL = dict(offload_weights_ratio=0.25, offload_gradients_ratio=0.25, offload_optimizer_ratio=0.5)
# name -> (every block recomputed, StageMemory fields; "offload_all": every block's activations offloaded)
CONFIGS = {
    "none": (False, {"zero_stage": 0}),
    "weights": (False, {"offload_weights_ratio": 0.25}),  # managed units: fill / bind / unbind, views
    "zero3": (False, {"zero_stage": 3}),  # managed units without offload (one rank: no gather)
    "grads": (False, {"offload_gradients_ratio": 0.25}),  # a host gradient section per block
    "activations": (False, {"offload_all": True}),  # every block's saved activations offloaded
    "recompute": (True, {"zero_stage": 0}),
    "recompute_weights": (True, {"offload_weights_ratio": 0.25}),
    "all": (False, {**ALL, "offload_all": True}),  # bench 'all': weights + grads + optimizer + acts
}
HOOKS = ("forward_begin", "forward_end", "pack", "backward_begin", "unpack", "on_grad", "backward_end")
STREAM_CALLS = ("record", "wait", "fork", "keep_alive", "on", "as_compute")
DEVICE_OPS = ("copy_", "add_", "zero_", "fill_", "empty", "clone")


def spec(hidden: int, blocks: int) -> ModelSpec:
    return ModelSpec(name="hook-gpt", family="gpt", num_layers=blocks, hidden_size=hidden, num_heads=4,
                     num_kv_heads=4, ffn_hidden_size=4 * hidden, vocab_size=256, max_seq_len=64,
                     tie_embeddings=True, norm="layernorm", activation="gelu",
                     position_embedding="learned", linear_bias=True)


def stack(model: ModelSpec, recompute: bool) -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(*[TransformerBlock(model, layer_index=i, recompute=recompute)
                                 for i in range(model.num_layers)])


def runtime(module: torch.nn.Module, fields: dict, device: torch.device) -> StageRuntime:
    fields = dict(fields)
    if fields.pop("offload_all", False):
        fields["num_offloaded_layers"] = len(module)
    cuda = device.type == "cuda"
    env = UnitEnv(streams=Streams(device), dtype=torch.float32, dp_group=None,
                  dp_world=1, dp_rank=0, opt_world=1, pinned=cuda)
    return StageRuntime(module, StageMemory(**fields), env, hyper=HYPER, clip=1.0, mp_group=None,
                        tp_rank=0, is_block=lambda m: isinstance(m, TransformerBlock),
                        min_offload_numel=1)  # on a GPU every saved activation is big enough


def one_pass(model, rt, x) -> tuple[float, float]:
    """(forward s, backward s) of one micro-batch."""
    if rt is not None:
        rt.begin_pass()
    start = time.perf_counter()
    loss = model(x).sum()
    _sync(x)
    mid = time.perf_counter()
    loss.backward()
    _sync(x)
    return mid - start, time.perf_counter() - mid


def _sync(x: torch.Tensor) -> None:
    """Wait for the device (CUDA runs: a pass's wall time includes its queued work)."""
    if x.is_cuda:
        torch.cuda.synchronize(x.device)


def best_round(model, rt, x, passes: int, repeats: int) -> tuple[float, float]:
    """Median over `passes` passes, best over `repeats` rounds (forward, backward seconds)."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        times = [one_pass(model, rt, x) for _ in range(passes)]
        fwd, bwd = (statistics.median(t[i] for t in times) for i in (0, 1))
        best = (min(best[0], fwd), min(best[1], bwd))
    return best


class _Timers:
    """Seconds and calls per hook name, and the phase ('forward'/'backward') they ran in."""

    def __init__(self):
        self.seconds, self.calls = Counter(), Counter()

    def wrap(self, name, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1
        return timed


def instrument(rt: StageRuntime, timers: _Timers) -> None:
    """Time the runtime's hook entry points (instance attributes shadow the methods)."""
    for name in ("forward_begin", "forward_end", "backward_end", "on_grad"):
        attr = "_" + name
        setattr(rt, attr, timers.wrap(name, getattr(rt, attr)))
    rt.backward_begin = timers.wrap("backward_begin", rt.backward_begin)
    make_hooks = rt._saved_tensor_hooks

    def saved_tensor_hooks(u):
        ctx = make_hooks(u)
        if hasattr(ctx, "pack_hook"):
            ctx.pack_hook = timers.wrap("pack", ctx.pack_hook)
            ctx.unpack_hook = timers.wrap("unpack", ctx.unpack_hook)
        return ctx
    rt._saved_tensor_hooks = saved_tensor_hooks


class _OpCounter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in DEVICE_OPS:
            self.ops[name] += 1
        return func(*args, **(kwargs or {}))


@contextmanager
def counted_streams(streams: Streams, counts: Counter):
    """Count the runtime's stream/event calls (no-ops on CPU) while the context is open."""
    originals = {name: getattr(streams, name) for name in STREAM_CALLS}

    def counting(name, fn):
        def call(*args, **kwargs):
            counts[name] += 1
            return fn(*args, **kwargs)
        return call
    for name, fn in originals.items():
        setattr(streams, name, counting(name, fn))
    try:
        yield
    finally:
        for name in originals:
            delattr(streams, name)


def ops_of_a_pass(model, rt, x) -> tuple[Counter, Counter]:
    """(forward, backward) device-op counts of one pass."""
    if rt is not None:
        rt.begin_pass()
    with _OpCounter() as fwd:
        loss = model(x).sum()
    with _OpCounter() as bwd:
        loss.backward()
    return fwd.ops, bwd.ops


def measure(name: str, args, plain_cache: dict) -> dict:
    """Overhead, hook breakdown and CUDA-call counts of one configuration, per block pass."""
    recompute, fields = CONFIGS[name]
    model_spec, n = spec(args.hidden, args.blocks), args.blocks
    device = torch.device(args.device)
    x = torch.randn(args.micro_batch, args.seq, args.hidden, device=device, requires_grad=True)
    base = stack(model_spec, recompute).to(device)
    if recompute not in plain_cache:
        plain = copy.deepcopy(base)
        one_pass(plain, None, x)
        plain_cache[recompute] = (best_round(plain, None, x, args.passes, args.repeats),
                                  ops_of_a_pass(plain, None, x))
    (plain_f, plain_b), (plain_fops, plain_bops) = plain_cache[recompute]
    rt = runtime(base, fields, device)
    for _ in range(3):  # warm-up: slots, pools, a non-fresh gradient section
        one_pass(base, rt, x)
    fwd, bwd = best_round(base, rt, x, args.passes, args.repeats)
    fops, bops = ops_of_a_pass(base, rt, x)
    calls = {"forward": Counter(), "backward": Counter()}
    rt.begin_pass()
    with counted_streams(rt.streams, calls["forward"]):
        loss = base(x).sum()
    with counted_streams(rt.streams, calls["backward"]):
        loss.backward()
    timers = _Timers()
    instrument(rt, timers)
    best: dict = {}
    for _ in range(args.repeats):  # per hook, the least time of a round (the machine is shared)
        timers.seconds.clear()
        timers.calls.clear()
        for _ in range(args.passes):
            one_pass(base, rt, x)
        best = {h: min(best.get(h, float("inf")), timers.seconds[h]) for h in HOOKS}
    scale = 1e6 / (args.passes * n)
    hooks = {h: round(best[h] * scale, 1) for h in HOOKS if timers.calls[h]}
    hook_calls = {h: round(timers.calls[h] / (args.passes * n), 2) for h in HOOKS if timers.calls[h]}
    per_block = lambda c: {k: round(v / n, 2) for k, v in sorted(c.items()) if v}  # noqa: E731
    return {
        "overhead_us": {"forward": round((fwd - plain_f) * 1e6 / n, 1),
                        "backward": round((bwd - plain_b) * 1e6 / n, 1)},
        "pass_us": {"forward": round(fwd * 1e6 / n, 1), "backward": round(bwd * 1e6 / n, 1),
                    "plain_forward": round(plain_f * 1e6 / n, 1),
                    "plain_backward": round(plain_b * 1e6 / n, 1)},
        "hooks_us": hooks, "hook_calls": hook_calls,
        "forward_hooks_us": round(sum(hooks.get(h, 0) for h in ("forward_begin", "forward_end", "pack")), 1),
        "backward_hooks_us": round(sum(hooks.get(h, 0) for h in ("backward_begin", "unpack", "on_grad")), 1),
        "stream_calls": {p: per_block(c) for p, c in calls.items()},
        "device_ops": {"forward": per_block(fops - plain_fops), "backward": per_block(bops - plain_bops)},
    }


def table(results: dict) -> str:
    lines = ["| config | fwd overhead | bwd overhead | fwd hooks | bwd hooks | "
             + " | ".join(HOOKS) + " | stream calls f/b | device ops f/b |",
             "|---" * (7 + len(HOOKS)) + "|"]
    for name, r in results.items():
        calls = [sum(r["stream_calls"][p].values()) for p in ("forward", "backward")]
        ops = [sum(r["device_ops"][p].values()) for p in ("forward", "backward")]
        lines.append(f"| {name} | {r['overhead_us']['forward']} | {r['overhead_us']['backward']} | "
                     f"{r['forward_hooks_us']} | {r['backward_hooks_us']} | "
                     + " | ".join(str(r["hooks_us"].get(h, "-")) for h in HOOKS)
                     + f" | {calls[0]:.1f}/{calls[1]:.1f} | {ops[0]:.1f}/{ops[1]:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--blocks", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--seq", type=int, default=16)
    parser.add_argument("--micro-batch", type=int, default=1)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda: the hooks' host time with real "
                        "CUDA stream, event and launch calls (what the CPU run leaves out)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = args.configs.split(",")
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        print(f"host_hooks: unknown configs {unknown}; known: {list(CONFIGS)}", file=sys.stderr)
        sys.exit(2)
    plain_cache: dict = {}
    results = {name: measure(name, args, plain_cache) for name in names}
    report = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "torch": torch.__version__, "results": results}
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
