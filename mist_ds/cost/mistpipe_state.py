"""The model states a mistpipe stage allocates, per kind, on the device and the host (the list in
cost/mistpipe.py's docstring, which cites the engine code each term follows), and the screening
subset of memory settings the search evaluates first (bounding_settings). Pure: numpy only; split
from cost/mistpipe.py, which prices time and assembles the stage's peak from these."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import get_args

import numpy as np

from mist_ds.config import HardwareProfile, ModelSpec
from mist_ds.config.run_report import HostBuffers
from mist_ds.config.executors import MISTPIPE
from mist_ds.cost.memory import ELEM, FP32
from mist_ds.cost.mistpipe_step import SWAP_SLOT_BYTES, priced_path
from mist_ds.cost.rates import Rates
from mist_ds.cost.shapes import block_tensors, layer_shapes, param_tensor_stats, pow2_bytes, vocab_shard
from mist_ds.cost.stage import PERSISTENCE_THRESHOLD

SLOTS = MISTPIPE.constants.num_slots
DEVICE_OPT_BYTES = 4 * FP32        # master, gradient, Adam m, v per device shard element
HOST_OPT_BYTES = 4 * FP32 + ELEM   # the same on the host, plus CPU Adam's 16-bit staging copy


def stage_sizes(model: ModelSpec, a) -> dict[str, np.ndarray]:
    """Parameters per block and resident unit on one TP rank, unit worlds and flags."""
    m, tp = model, a["tp"].astype(int)
    shapes = layer_shapes(m)
    block = shapes.sharded_params / a["tp"] + shapes.replicated_params
    rows = vocab_shard(m, tp).astype(float)
    pp = (a["num_stages"] > 1).astype(float)
    head_matrix = a["has_head"] * np.maximum(pp, float(not m.tie_embeddings))
    positions = m.max_seq_len * m.hidden_size if m.position_embedding == "learned" else 0
    resident = (a["has_embedding"] * (rows * m.hidden_size + positions)
                + a["has_head"] * (m.norm_params + head_matrix * rows * m.hidden_size))
    _, largest = param_tensor_stats(m, tp, a["num_layers"], a["has_embedding"], a["has_head"],
                                    head_matrix, PERSISTENCE_THRESHOLD)
    none = np.zeros_like(head_matrix)
    _, largest_block = param_tensor_stats(m, tp, a["num_layers"], none, none, none, PERSISTENCE_THRESHOLD)
    zero, layers = a["zero_stage"], a["num_layers"]
    return {"block": block, "resident": resident, "layers": layers, "largest": largest,
            "largest_block": largest_block,
            "linear": shapes.matmul_params / a["tp"],
            "linear_spans": linear_spans(m, a["tp"]),
            "params": layers * block + resident,
            "opt_world": np.where(zero >= 1, a["dp"], 1.0),
            "weight_world": np.where(zero == 3, a["dp"], 1.0),
            "managed": ((zero == 3) | (a["offload_weights"] > 0)) & (layers > 0),
            "rows": rows, "pp": pp}


def linear_spans(model: ModelSpec, tp) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(end offset, numel) of each linear weight of one block in its mistpipe unit's flat order
    (shapes.block_tensors) on a TP rank; the last is the block's final linear (runtime/blocks.py
    final_linear: the MLP's down projection)."""
    end, spans = 0.0, []
    for tensor in block_tensors(model):
        numel = tensor.sharded / tp + tensor.replicated
        end = end + numel
        if tensor.linear_weight:
            spans.append((end, numel))
    return tuple(spans)


def fills_per_iteration(layers, grad_accum, inflight) -> tuple[np.ndarray, np.ndarray]:
    """(steady fills per micro-batch, the iteration's extra fills) of a managed stage's L blocks.
    A pass finds the last SLOTS blocks the previous pass used still in the LRU slots (stage.py
    _prefetch_weights, streams.py DeviceSlots.acquire; released with keep=True): a forward after a
    backward (which ended at blocks SLOTS-1..0) and a backward after a forward (ended at L-SLOTS..L-1)
    fill L - SLOTS blocks each. Misses in full: the first forward after the step (StageRuntime.step
    invalidates the slots) and, with L > SLOTS, a forward after a forward or a backward after a
    backward: the k - 1 warm-up forwards and as many cool-down backwards of 1F1B (k in-flight
    micro-batches, PipeDream-Flush). Measured: gpt-1.3b PP2, 12 blocks a stage, 4 micro-batches,
    5 steps: 405 fills on stage 0 and 375 on stage 1 (bench/results/engine/s5_offload/
    offload_all.json, stats weight_fills) = 5 x (72 + 9) and 5 x (72 + 3)."""
    layers, g = np.asarray(layers, float), np.asarray(grad_accum, float)
    warm = np.minimum(np.asarray(inflight, float), g) - 1
    steady = 2 * np.maximum(layers - SLOTS, 0.0)
    extra = np.minimum(layers, SLOTS) + 2 * warm * SLOTS * (layers > SLOTS)
    return steady, extra


def offloaded_share(a, s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(elements per rank of the offloaded optimizer share, those of them whose gradients come from
    host gradient sections, units): what mistpipe_step.optimizer_path and offload_step_s take."""
    layers, block, oo = s["layers"], s["block"], a["offload_optimizer"]
    shard = (layers * block + s["resident"]) / s["opt_world"]
    in_sections = layers * block / s["opt_world"] * np.minimum(a["offload_gradients"], oo)
    return shard * oo, in_sections, layers + 1.0


def written_back(a, s) -> np.ndarray:
    """Elements per rank of the streamed blocks' new 16-bit weights the step copies back to host memory
    (runtime/mistpipe/unit.py store_update: each managed unit's host store share, on the d2h stream after
    the optimizer hands the unit its new shard): what mistpipe_step.offload_step_s's `write_back` takes."""
    return s["layers"] * np.where(s["managed"], s["block"] / s["weight_world"] * a["offload_weights"], 0.0)


HOST_BUFFERS = get_args(HostBuffers)
"""How the engine allocates its page-locked host buffers (RunReport.host_buffers): 'registered', exact
sizes (runtime/mistpipe/hostmem.py), with swap_gradients 'device' lean swap gradient tails
(swap_grad_tails), and tail gradients sent to the host through a two-buffer device ring (optimizer.py
_send_eager / _send_late), since session 13; 'torch_pinned', torch's CachingHostAllocator, every
request rounded up to a power of two, a host gradient for every swapped element, and a fresh fp32
copy per chunk sent (freed while its copy ran: pending in the allocator, not allocated), every run
before."""


@dataclass(frozen=True)
class EngineBuffers:
    """Which of the engine's buffer layouts a prediction follows: a run's records (RunReport.host_buffers,
    swap_gradients) or the engine's defaults."""

    host_buffers: str = "registered"
    swap_gradients: str = "device"
    norm_in_pieces: bool = True
    """The gradient norm's step transient (state_bytes 'step_transient'): one swap chunk of fp32 (True, the
    engine since session 57) or a whole unit shard (False: RunConditions.norm_in_pieces)."""

    def __post_init__(self):
        if self.host_buffers not in HOST_BUFFERS:
            raise ValueError(f"host_buffers must be one of {HOST_BUFFERS}, not {self.host_buffers!r}")

    @property
    def exact(self) -> bool:
        """Host buffers at their sizes (not rounded to powers of two)."""
        return self.host_buffers == "registered"

    @property
    def lean(self) -> bool:
        """swap_grad_tails' `lean`: the swap's host gradient only over host gradient sections."""
        return self.exact and self.swap_gradients == "device"

    def ring(self, a, swap) -> np.ndarray:
        """Where the stage holds optimizer.py's two-buffer d2h ring: an offloaded optimizer share some
        of whose gradients go to the host (host gradient sections, the CPU Adam path, or the swap
        through the host), in the engine since session 13."""
        sends = (a["offload_gradients"] > 0) | ~np.asarray(swap, bool) | (self.swap_gradients != "device")
        return self.exact & (a["offload_optimizer"] > 0) & sends


def swap_grad_tails(a, s, lean=True) -> list[tuple[np.ndarray, np.ndarray]]:
    """(units, elements) of the gpu_swap path's host gradient per unit kind (blocks, resident unit):
    with `lean` (optimizer.py UnitShard lean_grads: EngineBuffers.lean) only the offloaded elements of
    host gradient sections (blocks only: the resident unit has none), else every offloaded element."""
    oo, og = a["offload_optimizer"], a["offload_gradients"]
    blocks = s["block"] / s["opt_world"] * (np.minimum(og, oo) if lean else oo)
    resident = 0.0 * oo if lean else s["resident"] / s["opt_world"] * oo
    return [(s["layers"], blocks), (1.0, resident)]


def state_bytes(a, s, swap=True, engine: EngineBuffers = EngineBuffers()) -> dict[str, np.ndarray]:
    """Bytes of what the engine allocates for a stage's model states, per kind (device and host):
    the module docstring's list, before activations and transients. `a`: StageArgs.arrays(), `s`:
    stage_sizes, `swap`: True where the stage's offloaded share takes the gpu_swap path, False where
    cpu_adam (mistpipe_step.optimizer_path); `engine`: the buffer layout (EngineBuffers)."""
    ow, og, oo = a["offload_weights"], a["offload_gradients"], a["offload_optimizer"]
    block, resident, layers, managed = s["block"], s["resident"], s["layers"], s["managed"]
    stored = block / s["weight_world"]
    shard = (layers * block + resident) / s["opt_world"]
    swap_grads = sum(count * tail for count, tail in swap_grad_tails(a, s, engine.lean))
    largest_shard = np.maximum(np.where(layers > 0, block, 0.0), resident) / s["opt_world"]
    swap_chunk = np.minimum(MISTPIPE.constants.swap_chunk_elements, largest_shard * oo)
    return {
        "weights": ELEM * resident + np.where(managed, ELEM * layers * stored * (1 - ow), ELEM * layers * block),
        "weight_slots": np.where(managed, SLOTS * ELEM * block, 0.0),
        "gradients": ELEM * (resident + layers * block * (1 - og)),
        "gradient_slots": np.where((og > 0) & (layers > 0), SLOTS * ELEM * og * block, 0.0),
        "optimizer": DEVICE_OPT_BYTES * shard * (1 - oo),
        "staging": 2 * ELEM * largest_shard,
        "swap_slots": np.where(swap, 2 * SWAP_SLOT_BYTES * swap_chunk * (oo > 0), 0.0),  # two swapadam.py _Slots
        "d2h_ring": np.where(engine.ring(a, swap), 2 * FP32 * swap_chunk, 0.0),  # optimizer.py _ring_buffers
        # optimizer.py: _global_norm squares device heads in place and _add_kept_square upcasts a kept tail
        # one swap chunk at a time; before session 57 pow(2) and the tail's upcast were whole-shard temporaries
        "step_transient": FP32 * (swap_chunk if engine.norm_in_pieces else largest_shard),
        # start-up (engine.py, stage.py StageRuntime.__init__): the stage is built whole in 16 bits
        # before the units copy and shard it (one unit's flat copy and shard clone beside it); then
        # each unit keeps its 16-bit shard until ShardedAdam has made the fp32 master and gradient
        "build": ELEM * (layers * block + resident + 2 * np.maximum(np.where(layers > 0, block, 0.0), resident)),
        "init_optimizer": ELEM * shard + 2 * FP32 * shard * (1 - oo),
        "host_weights": np.where(managed, ELEM * layers * stored * ow, 0.0),
        "host_gradients": ELEM * layers * block * og,
        "host_optimizer": np.where(swap, 3 * FP32 * shard * oo + FP32 * swap_grads, HOST_OPT_BYTES * shard * oo),
    }


def host_allocated_bytes(a, s, swap=True, engine: EngineBuffers = EngineBuffers()) -> np.ndarray:
    """Host memory of the offloaded states as allocated: per unit, the pinned buffers (weight store
    tail, gradient section, fp32 master, Adam m and v (swap) and gradient tails, CPU Adam's 16-bit
    staging copy; streams.py host_buffer), at their sizes when engine.exact, else rounded up to a
    power of two by torch's CachingHostAllocator (cost/host_memory.py), and DeepSpeedCPUAdam's
    exp_avg / exp_avg_sq, pageable, as they are (`swap`: state_bytes')."""
    size = (lambda nbytes: nbytes) if engine.exact else pow2_bytes
    ow, og, oo = a["offload_weights"], a["offload_gradients"], a["offload_optimizer"]
    layers, block, resident = s["layers"], s["block"], s["resident"]
    stored = block / s["weight_world"]
    per_unit = [(layers, block / s["opt_world"] * oo), (1.0, resident / s["opt_world"] * oo)]
    grads = swap_grad_tails(a, s, engine.lean)
    pinned = sum(count * (3 * size(FP32 * tail) + size(FP32 * grad))  # swapadam.py: master, m, v
                 for (count, tail), (_, grad) in zip(per_unit, grads))
    host_adam = sum(count * (2 * size(FP32 * tail) + size(ELEM * tail) + 2 * FP32 * tail)
                    for count, tail in per_unit)
    optimizer = np.where(swap, pinned, host_adam)
    return (layers * (np.where(s["managed"], size(ELEM * stored * ow), 0.0) + size(ELEM * og * block))
            + optimizer)


def phase_bytes(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Device state bytes of each phase (state_bytes `p`): 'train' (forward/backward, before
    activations and logits), 'step', 'init' (the optimizer being built) and 'build'."""
    kept = (p["weights"] + p["weight_slots"] + p["gradients"] + p["gradient_slots"] + p["staging"]
            + p["swap_slots"] + p["d2h_ring"])
    return {"train": kept + p["optimizer"], "step": kept + p["optimizer"] + p["step_transient"],
            "init": kept + p["init_optimizer"], "build": p["build"]}


@functools.lru_cache(maxsize=256)
def bounding_settings(model_json: str, settings: tuple, dp: int, tp: int, num_stages: int,
                      hw_json: str | None = None, gpus_per_node: int = 1) -> tuple[int, ...]:
    """Indices of a subset of `settings` (zero, weights, gradients, optimizer) on which the smallest
    device peak over all of them is always found: a setting is left out when, at every layer count a
    stage can hold and every stage position, some kept one needs no more state bytes in every phase
    (phase_bytes: forward/backward, step, optimizer build; the build phase is the same for all).
    Recompute and activation offload add the same bytes to every setting of a stage (state_bytes is
    all that differs), so a left-out setting never has the smaller peak. The optimizer path depends
    on the hardware (mistpipe_step.optimizer_path): given the profile (`hw_json`, with the node's
    `gpus_per_node`), every setting's bytes are its chosen path's, as the cost model charges them;
    without it, a setting is compared at its fewest bytes (the cpu_adam path: no swap slots) against
    a kept one at its most (gpu_swap), which holds whichever path runs but keeps more settings."""
    model = ModelSpec.from_json_text(model_json)
    z, w, g, o = (np.array(col, float)[:, None, None] for col in zip(*settings))
    positions = [(1.0, 1.0)] if num_stages == 1 else [(1.0, 0.0), (0.0, 0.0), (0.0, 1.0)]
    emb, head = (np.array(col)[None, :, None] for col in zip(*positions))
    layers = np.arange(1.0, model.num_layers - num_stages + 2)[None, None, :]
    a = {"tp": float(tp), "num_stages": float(num_stages), "has_embedding": emb, "has_head": head,
         "num_layers": layers, "zero_stage": z, "dp": float(dp), "offload_weights": w,
         "offload_gradients": g, "offload_optimizer": o}
    a = dict(zip(a, np.broadcast_arrays(*[np.asarray(v, float) for v in a.values()])))
    sizes = stage_sizes(model, a)
    if hw_json is None:
        paths = (True, False)
    else:
        rates = Rates(HardwareProfile.from_json_text(hw_json), gpus_per_node)
        paths = (priced_path(rates, *offloaded_share(a, sizes), write_back=written_back(a, sizes))[0],) * 2
    # (settings, phases x cases): a setting's bytes in every phase, stage position and layer count
    most, fewest = (np.stack([phase_bytes(state_bytes(a, sizes, swap))[k].reshape(len(settings), -1)
                              for k in ("train", "step", "init")], axis=1) for swap in paths)
    kept: list[int] = []
    for i in np.argsort(fewest.sum(axis=(1, 2)), kind="stable"):
        if kept and (most[kept] <= fewest[i]).all(axis=1).any(axis=0).all():
            continue  # at every case some kept setting needs no more in every phase
        kept.append(int(i))
    return tuple(sorted(kept))
