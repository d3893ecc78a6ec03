"""The offloaded optimizer share's update in a mistpipe stage, priced for both of the engine's paths
(runtime/mistpipe/optimizer.py, swapadam.py): `offload_step_s` for cost/mistpipe.py's per-iteration
term, `host_adam_rate` for the cpu_adam path's host side, and `optimizer_path`, the one rule that picks
a stage's path (the cost model charges it, the emitted ds_config carries it, the engine runs it).
Pure: numpy only."""

from __future__ import annotations

import numpy as np

from mist_ds.config.executors import MISTPIPE
from mist_ds.cost.memory import ELEM, FP32
from mist_ds.cost.rates import HOST_BF16_PER_ADAM, HOST_CLIP_PER_ADAM, HOST_CONCURRENCY, Rates

SWAP_IN_BYTES, SWAP_OUT_BYTES = 3 * FP32, 3 * FP32  # swapadam.py: master, m, v in and out
HOST_GRAD_BYTES = FP32  # swapadam.py: a host gradient section's fp32 gradient, in with the states
SWAP_SLOT_BYTES = 4 * FP32  # swapadam.py _Slot: fp32 param, grad, m and v per element of a device slot
# swapadam.py SwapAdam.update, per chunk on the compute stream besides the AdamW: the device gradient into the
# slot (fp32 read and write), the clip's multiply (read and write) and the new 16-bit weights out (fp32 read,
# bf16 write); bytes per element at the profile's copy rate (Rates.copy_s).
SWAP_PASS_BYTES = 2 * FP32 + 2 * FP32 + FP32 + ELEM
PATHS = ("gpu_swap", "cpu_adam")
CHOSEN = "the faster"  # how path_reason's why begins when the cost model chose the path (not forced)
DEFAULT_PATH = "gpu_swap"  # what the engine runs when nothing says otherwise (runtime/mistpipe/engine.py)


def host_adam_rate(rt: Rates) -> float:
    """DeepSpeedCPUAdam elements/s of one rank under share_host_cores (engine.py: the node's cores
    split among its ranks), all ranks stepping at once (HOST_CONCURRENCY, host_step.json)."""
    samples = sorted(rt.hw.cpu_adam, key=lambda x: x.num_threads)
    threads = max(1, rt.hw.host_cpu_cores // rt.ranks_per_node)
    rate = float(np.interp(threads, [x.num_threads for x in samples], [x.params_per_s for x in samples]))
    return rate * (HOST_CONCURRENCY if rt.ranks_per_node > 1 else 1.0)


def host_step_per_adam(rt: Rates) -> float:
    """The host's Adam + fp32 -> bf16 cast of a unit per Adam alone: the profile's measured
    cpu_step_per_adam, else 1 + HOST_BF16_PER_ADAM (the cast measured apart on the H200 host)."""
    measured = rt.hw.cpu_step_per_adam
    return measured if measured is not None else 1.0 + HOST_BF16_PER_ADAM


def beside_d2h_extra_s(rt: Rates, host, d2h):
    """Seconds the host's work (`host` alone) gains from running beside `d2h` seconds of device-to-host
    copies into pinned memory, at the profile's cpu_step_d2h_slowdown s (1 where not measured): it runs
    s times slower while they stream, min(d2h, s x host) seconds, so it ends that x (1 - 1/s) later."""
    slowdown = rt.hw.cpu_step_d2h_slowdown or 1.0
    return np.minimum(d2h, slowdown * np.asarray(host, float)) * (1.0 - 1.0 / slowdown)


def offload_step_s(rt: Rates, n, in_sections, units, path: str | None = None, swap_gradients: str = "device",
                   write_back=0.0):
    """(step, early d2h) seconds of the offloaded share's update, n elements of which `in_sections`
    come from host gradient sections, over `units` units (optimizer.py, swapadam.py).
    gpu_swap: the tails of host gradient sections go d2h while the gradients are reduced (early),
    the others stay on the device (optimizer.py take_chunk); the step is swap_s (the chunk pipeline
    of swapadam.py). cpu_adam: only the host-section tails go
    early; the rest goes d2h after the norm, clipped on the device, unit by unit under the host's
    work (the first unit's copy exposed); the host runs Adam, the 16-bit copy and the clip of the
    early tails (the profile's cpu_step_per_adam, else host_step.json's ratios), slowed while the
    late gradients stream d2h (beside_d2h_extra_s), then each unit's 16-bit weights go h2d (the last one
    exposed). Measured on the H100 node (bench/results/runtime/h100_traces_S47/): a layer unit's host
    work 30.4 ms beside the d2h and 22 ms after it, 78.7M elements. `path` None: DEFAULT_PATH.
    `swap_gradients` 'host': the engine before 2026-12-01 (a run that recorded no
    RunReport.swap_gradients), whose swap took every tail's gradient through the host.
    `write_back`: elements of streamed blocks' new 16-bit weights each unit's store copies to the host on the d2h
    stream after its update (mistpipe_state.written_back; unit.py store_update), which nothing on the host waits for
    (optimizer.py finish_unit waits only for its unit's late gradients, queued before every store by _send_late):
    with cpu_adam they run behind the late gradients under the host's work (the d2h stream's total against the
    host's); behind the swap's own stores on its link they add (gpu_swap); with nothing offloaded they run beside
    the device's Adam (cost/mistpipe.py _iteration). Before session 61 the copies were added after the step on
    every path: the four H100-node runs that stream every weight with CPU Adam ran 5.5-10.7% under the model.
    """
    path = path or DEFAULT_PATH
    n, in_sections = np.asarray(n, float), np.asarray(in_sections, float)
    stores = rt.d2h_s(ELEM * np.asarray(write_back, float))
    if path == "gpu_swap":
        via_host = in_sections if swap_gradients == "device" else n
        return np.where(n > 0, swap_s(rt, n, units, via_host) + stores, stores), rt.d2h_s(FP32 * via_host)
    adam = n / host_adam_rate(rt)
    host = adam * host_step_per_adam(rt) + in_sections / host_adam_rate(rt) * HOST_CLIP_PER_ADAM
    late_d2h = rt.d2h_s(FP32 * (n - in_sections))
    host = host + beside_d2h_extra_s(rt, host, late_d2h)
    step = (np.maximum(host, late_d2h + stores) + rt.d2h_s(FP32 * (n - in_sections) / units)
            + rt.h2d_s(ELEM * n / units))
    return np.where(n > 0, step, stores), rt.d2h_s(FP32 * in_sections)


def swap_s(rt: Rates, n, units, in_sections=0.0):
    """Wall seconds of SwapAdam.update over every unit's tail, n elements per rank over `units`
    units, `in_sections` of them in host gradient sections (swapadam.py): per chunk (a unit's tail of
    n / units elements cut into the fewest equal chunks of at most swap_chunk_elements, even_chunk),
    master, m and v go in on the h2d stream (12 B/element), with the fp32 gradient of host-section
    elements (4 B more each; the others are read on the device), the compute stream's AdamW runs when
    they land, and master, m, v go out on the d2h stream (12 B/element) after it; two device slots,
    so the next chunk loads while the last one is stored. In the stream order: the first chunk's load runs alone
    (nothing is stored yet), the last chunk's store and device work after the last load; in between the two directions
    run at once, under the profile's interference (Rates.overlapped_s, MIST.md section 2: h2d beside d2h, 1.66 / 1.08 on
    the H200 profile: not full duplex), with the device work (AdamW and SWAP_PASS_BYTES of passes) beside them. Two
    slots bound that middle too: a slot's next load waits for its store, which waits for its device work, which waits
    for its load, so each slot cycles through load + device work + store and the two slots' cycles share the links: a
    chunk every (load + device + store) / 2 at least, each copy at its slowdown beside the other (Rates.concurrent_s).
    Measured, gpt-1.3b PP2 with 0.5 of the optimizer offloaded (355.8M elements per rank, 2x H200,
    bench/engine/STEP_TIMELINE.md): h2d busy 146 ms of a 153 ms update, 88 ms of it beside d2h. Mistral-7B
    and llama-7b on one H200 (5.4e9 / 5.1e9 elements, 332 chunks; bench/results/runtime/swap_trace_S34):
    the h2d stream idles 0.13 ms a chunk and the d2h 0.21, which the cycle gives from the trace's own
    copy times (3.98 / 3.89 ms) and device work (0.30 ms): 0.105 / 0.195."""
    n = np.asarray(n, float)
    tail = n / np.maximum(units, 1.0)
    chunk = tail / np.maximum(np.ceil(tail / MISTPIPE.constants.swap_chunk_elements), 1.0)
    rest = n - chunk
    in_bytes = SWAP_IN_BYTES + HOST_GRAD_BYTES * np.asarray(in_sections, float) / np.maximum(n, 1.0)
    load, device, store = rt.h2d_s(in_bytes * rest), swap_device_s(rt, rest), rt.d2h_s(SWAP_OUT_BYTES * rest)
    streamed = rt.overlapped_s(device, 0.0, load, store)
    device_slowed, _, load_slowed, store_slowed = rt.concurrent_s(device, 0.0, load, store)
    both = np.maximum(streamed, (load_slowed + device_slowed + store_slowed) / 2)
    return rt.h2d_s(in_bytes * chunk) + both + swap_device_s(rt, chunk) + rt.d2h_s(SWAP_OUT_BYTES * chunk)


def swap_device_s(rt: Rates, n):
    """The compute stream's work of SwapAdam.update on n elements: AdamW and SWAP_PASS_BYTES of passes."""
    return rt.gpu_adam_s(n) + rt.copy_s(SWAP_PASS_BYTES * np.asarray(n, float))


def optimizer_path(rt: Rates, n, in_sections, units, forced: str | None = None, write_back=0.0):
    """Which path updates a stage's offloaded share of `n` elements per rank (`in_sections` of them
    from host gradient sections, over `units` units): True where 'gpu_swap', False where 'cpu_adam'.
    The path whose offload_step_s (step + early d2h) is smaller; a tie (n = 0 included) is the swap.
    The swap streams 24 B/element (+8 per element of a host gradient section), both directions at
    once under the profile's interference (swap_s), and exposes its first chunk's load; on the shipped
    profiles that is cheaper than the host's Adam at every share (by 30-35% without host gradient
    sections, 2 ranks per node). While the swap took every gradient through the host (32 B/element,
    the engine before 2026-12-01) CPU Adam won below 1.7e8 elements per rank and the swap above by
    3% (measured: 0.617 vs 0.638 s/iter at 3.6e8, bench/results/engine/s5_offload; reading the
    gradients on the device measured 1.10-1.14x per iteration on 1-GPU plans, bench/results/engine/
    swap_grads_S12). `forced`: that path everywhere (predict_plan's optimizer_path)."""
    return priced_path(rt, n, in_sections, units, forced, write_back=write_back)[0]


def priced_path(rt: Rates, n, in_sections, units, forced: str | None = None, swap_gradients: str = "device",
                write_back=0.0):
    """(optimizer_path's choice, offload_step_s's (step, early) of the chosen path); `swap_gradients`,
    `write_back`: offload_step_s's."""
    if forced is not None and forced not in PATHS:
        raise ValueError(f"optimizer offload path must be one of {PATHS}, not {forced!r}")
    swap_step, swap_early = offload_step_s(rt, n, in_sections, units, "gpu_swap", swap_gradients, write_back)
    cpu_step, cpu_early = offload_step_s(rt, n, in_sections, units, "cpu_adam", write_back=write_back)
    if forced is None:
        swap = np.asarray(swap_step + swap_early <= cpu_step + cpu_early)
    else:
        swap = np.full(np.shape(swap_step + cpu_step), forced == "gpu_swap")
    return swap, np.where(swap, swap_step, cpu_step), np.where(swap, swap_early, cpu_early)


def path_reason(rt: Rates, n: float, in_sections: float, units: float, forced: str | None = None,
                write_back: float = 0.0) -> tuple[str, str]:
    """(path, one-line why) of one stage with a scalar offloaded share (optimizer_path's rule)."""
    if n <= 0:
        return "none", "no optimizer state offloaded"
    swap = float(sum(offload_step_s(rt, n, in_sections, units, "gpu_swap", write_back=write_back)))
    cpu = float(sum(offload_step_s(rt, n, in_sections, units, "cpu_adam", write_back=write_back)))
    path = "gpu_swap" if bool(optimizer_path(rt, n, in_sections, units, forced, write_back)) else "cpu_adam"
    priced = f"{n:.3g} elements/rank offloaded: gpu_swap {swap * 1e3:.0f} ms vs cpu_adam {cpu * 1e3:.0f} ms a step"
    return path, (f"forced; {priced}" if forced else f"{CHOSEN}: {priced}")


def stage_optimizer_paths(plan, hw, forced: str | None = None) -> tuple[tuple[str, str], ...]:
    """(path, one-line why) of every stage of a mistpipe `plan` on profile `hw`: what the cost model
    charges (cost/mistpipe.py MistpipeStageCostModel.swaps) and the engine runs (the emitted ds_config
    carries it: emit/ds_config.py mistpipe_section). 'none' for a stage that offloads no optimizer state."""
    from mist_ds.cost.mistpipe_state import (  # noqa: PLC0415 (it imports this module)
        offloaded_share, stage_sizes, written_back)
    from mist_ds.cost.stage_args import plan_stage_args  # noqa: PLC0415

    rt = Rates(hw, plan.cluster.gpus_per_node)
    out = []
    for index in range(plan.num_stages):
        a = plan_stage_args(plan, index).arrays()
        s = stage_sizes(plan.model, a)
        n, in_sections, units, write_back = (float(np.asarray(v).ravel()[0])
                                             for v in (*offloaded_share(a, s), written_back(a, s)))
        out.append(path_reason(rt, n, in_sections, units, forced, write_back))
    return tuple(out)
