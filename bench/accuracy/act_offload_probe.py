#!/usr/bin/env python3
"""Does activation offload block the host? One GPU, the runtime's own blocks, no DeepSpeed.

    python bench/accuracy/act_offload_probe.py --out DIR [--preset llama-7b] [--seq 4096] [--mb 1]
        [--blocks 4] [--hook-us 0 800] [--iters 5] [--warmup 2]

Runs `--blocks` blocks of the preset (runtime/blocks.py TransformerBlock, eager kernels, SDPA)
forward and backward, per variant of where the saved tensors live:
  keep        - on the GPU (no hooks);
  runtime     - the runtime's OffloadedBlock (runtime/host_saves.py save_on_host: torch 2.13's
                save_on_cpu on every torch, a non_blocking pack; before it the runtime used torch's own
                save_on_cpu, whose pack blocks on torch 2.11);
  blocking    - saved_tensors_hooks packing into pinned memory with a blocking copy_ (torch 2.11's
                pack_to_cpu), unpacking with .to(device, non_blocking=True);
  nonblocking - the same with a non_blocking copy_ (torch 2.13's pack_to_cpu).
`--hook-us`: a busy-wait forward pre-hook on every block submodule that owns parameters (norms,
q|k|v, o, gate|up, down), standing in for ZeRO-3's fetch hooks and launch work (cost/stage_time.py
host_parts puts ~5.6 ms of host work on a llama-7b block's forward at micro-batch 1: 6 hooks of
~800 us after the block's own launches), once per value.
Per variant and hook time: host seconds (perf_counter to the call's return, no sync), GPU seconds
(CUDA events around the pass on the compute stream) and wall seconds (to a synchronize), forward
and backward, medians over --iters after --warmup; save calls and bytes copied per block; the
CachingHostAllocator's cudaHostAlloc count over the timed iterations (0: cached, not paid per step).
cost/act_offload.py predicts, for the blocking pack, forward wall = host + GPU(keep) + copies, and
for the non-blocking one max(host, GPU(keep) + copies); `summary` lists both beside the measurement.
Writes DIR/act_offload_probe.json. Exit 2 on bad input, 3 without CUDA.
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from torch.autograd.graph import saved_tensors_hooks  # noqa: E402

from mist_ds.config import get_preset  # noqa: E402
from mist_ds.runtime.blocks import TransformerBlock  # noqa: E402
from mist_ds.runtime.kernels import Kernels  # noqa: E402
from mist_ds.runtime.model import OffloadedBlock  # noqa: E402

VARIANTS = ("keep", "runtime", "blocking", "nonblocking")
KERNELS = Kernels(norm="torch", activation="torch", rope="torch", attention="sdpa")


class Packs:
    """saved_tensors_hooks into pinned host memory, counting calls and bytes (variants 'blocking',
    'nonblocking'): torch.autograd.graph.save_on_cpu's pack_to_cpu with the copy mode fixed."""

    def __init__(self, non_blocking: bool):
        self.non_blocking, self.calls, self.bytes = non_blocking, 0, 0

    def pack(self, tensor):
        self.calls += 1
        self.bytes += tensor.numel() * tensor.element_size()
        packed = torch.empty(tensor.size(), dtype=tensor.dtype, layout=tensor.layout, pin_memory=True)
        packed.copy_(tensor, non_blocking=self.non_blocking)
        return tensor.device, packed

    @staticmethod
    def unpack(packed):
        device, tensor = packed
        return tensor.to(device, non_blocking=True)

    def context(self):
        return saved_tensors_hooks(self.pack, self.unpack)


def busy_wait_hook(microseconds: float):
    """A forward pre-hook that holds the host thread (a stand-in for ZeRO-3's per-module work)."""
    def hook(module, args):
        end = time.perf_counter() + microseconds * 1e-6
        while time.perf_counter() < end:
            pass
    return hook


def build(preset: str, variant: str, blocks: int, hook_us: float, device) -> torch.nn.ModuleList:
    spec = get_preset(preset)
    cls = OffloadedBlock if variant == "runtime" else TransformerBlock
    layers = torch.nn.ModuleList(cls(spec, None, torch.bfloat16, layer_index=i, device=device, kernels=KERNELS)
                                 for i in range(blocks))
    if hook_us > 0:
        for layer in layers:
            for module in layer.modules():
                if module is not layer and any(True for _ in module.parameters(recurse=False)):
                    module.register_forward_pre_hook(busy_wait_hook(hook_us))
    return layers


def timed(fn):
    """(result, host s, GPU s, wall s) of fn() on the current stream."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    start.record()
    out = fn()
    host = time.perf_counter() - t0
    end.record()
    torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    return out, host, start.elapsed_time(end) / 1e3, wall


def host_allocs() -> int | None:
    """cudaHostAlloc calls so far (torch.cuda.host_memory_stats), None where torch lacks it."""
    stats = getattr(torch.cuda, "host_memory_stats", None)
    return None if stats is None else int(stats().get("num_host_alloc", 0))


def one_step(layers, packs: Packs | None, x):
    def forward():
        h = x
        with packs.context() if packs is not None else _nothing():
            for layer in layers:
                h = layer(h)
        return h.float().pow(2).mean()
    loss, fh, fg, fw = timed(forward)
    _, bh, bg, bw = timed(loss.backward)
    return {"fwd_host_s": fh, "fwd_gpu_s": fg, "fwd_wall_s": fw, "bwd_host_s": bh, "bwd_gpu_s": bg, "bwd_wall_s": bw}


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def measure(args, variant: str, hook_us: float, device) -> dict:
    layers = build(args.preset, variant, args.blocks, hook_us, device)
    packs = Packs(variant == "nonblocking") if variant in ("blocking", "nonblocking") else None
    spec = get_preset(args.preset)
    x = torch.randn(args.mb, args.seq, spec.hidden_size, device=device, dtype=torch.bfloat16, requires_grad=True)
    for _ in range(args.warmup):
        one_step(layers, packs, x)
    allocs, samples = host_allocs(), []
    if packs is not None:
        packs.calls = packs.bytes = 0
    for _ in range(args.iters):
        samples.append(one_step(layers, packs, x))
    after = host_allocs()
    out = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
    out["host_allocs_timed"] = None if allocs is None else after - allocs
    if packs is not None:
        out["save_calls_per_block"] = packs.calls / (args.iters * args.blocks)
        out["bytes_copied_per_block"] = packs.bytes / (args.iters * args.blocks)
    del layers, x
    torch.cuda.empty_cache()
    return out


def copy_rate(nbytes: int, device) -> dict:
    """Pinned D2H and H2D GB/s of one copy of `nbytes` (this GPU alone)."""
    host = torch.empty(nbytes, dtype=torch.uint8, pin_memory=True)
    dev = torch.empty(nbytes, dtype=torch.uint8, device=device)
    rates = {}
    for name, dst, src in (("d2h_gbps", host, dev), ("h2d_gbps", dev, host)):
        dst.copy_(src, non_blocking=True)
        _, _, gpu, _ = timed(lambda d=dst, s=src: d.copy_(s, non_blocking=True))
        rates[name] = nbytes / gpu / 1e9
    return rates


def summary(results: dict, hooks: list[float], blocks: int, d2h_gbps: float) -> list[dict]:
    """Measured forward wall of each offload variant beside cost/act_offload.py's two rules, from the
    'keep' run at the same hook time (its host seconds: the host work) and at the smallest hook time
    (its GPU seconds: the kernels, when that run is GPU-bound: the stream's span counts idle time),
    and the copies (bytes copied at the measured pinned D2H rate): serial_rule = host + kernels +
    copies (a blocking pack), overlap_rule = max(host, kernels + copies) (a non-blocking one).
    pack_host_s_per_call: the host seconds one pack adds (the non-blocking variant's host time over
    the 'keep' run's, per save call), which cost/act_offload.py prices as one kernel launch
    (config/hardware.py host_launch_overhead_s, 0.17 ms on the h200 profile)."""
    kernels = results["keep"][str(min(hooks))]["fwd_gpu_s"]
    copies = blocks * results["blocking"][str(min(hooks))]["bytes_copied_per_block"] / (d2h_gbps * 1e9)
    calls = blocks * results["blocking"][str(min(hooks))]["save_calls_per_block"]
    rows = []
    for hook in hooks:
        host = results["keep"][str(hook)]["fwd_host_s"]
        pack = (results["nonblocking"][str(hook)]["fwd_host_s"] - host) / max(calls, 1.0)
        for variant in ("blocking", "nonblocking", "runtime"):
            rows.append({"hook_us": hook, "variant": variant, "fwd_wall_s": results[variant][str(hook)]["fwd_wall_s"],
                         "host_s": host, "kernels_s": kernels, "copies_s": copies,
                         "serial_rule_s": host + kernels + copies, "overlap_rule_s": max(host, kernels + copies),
                         "pack_host_s_per_call": pack})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--preset", default="llama-7b")
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--mb", type=int, default=1)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--hook-us", type=float, nargs="+", default=[0.0, 800.0])
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args(argv)
    if min(args.seq, args.mb, args.blocks, args.iters) < 1 or args.warmup < 0 or min(args.hook_us) < 0:
        print("act_offload_probe: --seq, --mb, --blocks, --iters must be >= 1, --warmup and --hook-us >= 0",
              file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("act_offload_probe: needs a CUDA GPU", file=sys.stderr)
        return 3
    device = torch.device("cuda", 0)
    results = {v: {str(h): measure(args, v, h, device) for h in args.hook_us} for v in VARIANTS}
    pack_source, rates = inspect.getsource(torch.autograd.graph.save_on_cpu), copy_rate(256 << 20, device)
    report = {"torch_version": torch.__version__, "gpu_name": torch.cuda.get_device_name(device),
              "save_on_cpu_pack_non_blocking": "non_blocking=is_pinnable" in pack_source,
              "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "copy_rates": rates, "results": results,
              "summary": summary(results, args.hook_us, args.blocks, rates["d2h_gbps"])}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "act_offload_probe.json").write_text(json.dumps(report, indent=1) + "\n")
    for row in report["summary"]:
        print(f"hook {row['hook_us']:6.0f} us {row['variant']:12s} fwd wall {1e3 * row['fwd_wall_s']:8.2f} ms"
              f"  serial rule {1e3 * row['serial_rule_s']:8.2f}  overlap rule {1e3 * row['overlap_rule_s']:8.2f}"
              f"  pack host {1e6 * row['pack_host_s_per_call']:6.1f} us/call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
