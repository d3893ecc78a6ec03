"""ShardedAdam: the stage's optimizer over this rank's shard of every unit.

Per unit it holds fp32 master weights, Adam m and v, and fp32 gradients for the rank's shard
(layout.py), split at `split_point(shard, offload_optimizer_ratio)`: the head lives on the device and
is updated by torch's AdamW (fused CUDA kernel on GPUs; the same update rule as DeepSpeed's
FusedAdam, with nothing to JIT-build), the tail lives in host memory and is updated either by
DeepSpeed's `DeepSpeedCPUAdam` on the host (host_path 'cpu_adam': the ZeRO-Offload kernel, as
DeepSpeed's own Twin-Flow partial offload uses it) or on the device over swapped-in chunks
(host_path 'gpu_swap', swapadam.py, as Mist does: 0.682 against 0.765 s/iter on gpt-1.3b PP2 with
half the optimizer offloaded, 2x H200, bench/results/engine/s4_offload; the cost model prices both,
cost/mistpipe_step.py offload_step_s, and picks the faster per stage, optimizer_path). The global norm never reads host memory: the
host tails' squares are summed on the device from the fp32 upcast of the reduced chunks
(take_chunk), and with CPU Adam the tails of device gradient sections go to the host only after the
norm, clipped on the device (_send_late); host_step.json there: the host norm and clip had cost
0.15 s of that step, as much as CPU Adam. Gradient clipping follows DeepSpeed's ZeRO optimizer (runtime/zero/stage_1_and_2.py:
`get_grad_norm_direct` and `unscale_and_clip_grads`): the norm sums every element once (tensor-
parallel replicas only on TP rank 0, pipeline-tied copies only on their first stage), over the DP
group then over DeepSpeed's model-parallel group (all stages and TP ranks of this data index), and
gradients are divided by max(1, (norm + 1e-6) / clip).
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from mist_ds.config.executors import MISTPIPE
from mist_ds.runtime.mistpipe.layout import split_point
from mist_ds.runtime.mistpipe.streams import host_buffer
from mist_ds.runtime.mistpipe.swapadam import SWAP_CHUNK_NUMEL, SwapAdam
from mist_ds.runtime.mistpipe.unit import FlatUnit, UnitEnv


HOST_PATHS = ("cpu_adam", "gpu_swap")
SWAP_GRADIENTS = ("device", "host")
"""Where the gpu_swap path reads the gradients of device gradient sections: 'device', the accumulation
buffer (the default), or 'host', sent there by the reduction and swapped back in with the states (the
engine before 2026-12-01; kept as an option so a benchmark can measure what the round trip costs)."""
NORM_PIECE_NUMEL = SWAP_CHUNK_NUMEL
"""Elements of a kept tail chunk upcast to fp32 at a time for the norm (_add_kept_square): the swap's chunk
(64 MiB of fp32), the size cost/mistpipe_state.py state_bytes prices the step's transient at."""


def recorded_swap_gradients(plan) -> str | None:
    """RunReport.swap_gradients of a run of `plan`: 'device' (take_chunk keeps device-section gradients
    for SwapAdam) for a mistpipe plan with an offloaded optimizer share on some stage; else None."""
    if plan.executor != MISTPIPE.name:
        return None
    offloads = any(plan.stage_memory(i).offload_optimizer_ratio > 0 for i in range(plan.num_stages))
    return "device" if offloads else None


def recorded_norm_in_pieces(plan) -> bool | None:
    """RunReport.norm_in_pieces of a run of `plan`: True for a mistpipe plan (_add_kept_square), else None."""
    return True if plan.executor == MISTPIPE.name else None


def recorded_host_buffers(plan) -> str | None:
    """RunReport.host_buffers of a run of `plan`: 'registered' (streams.py host_buffer, hostmem.py; lean
    swap gradient tails, UnitShard) for a mistpipe plan; else None."""
    return "registered" if plan.executor == MISTPIPE.name else None


class UnitShard:
    """fp32 master weights and gradients of one unit's shard, device head and host tail. The host
    tail's fp32 gradient covers tail positions from `grad_from` on: all of them (CPU Adam reads them
    all, and the swap's 'host' option sends them all), or, when `lean_grads` (the gpu_swap path reading
    device-section gradients on the device), only those of the host gradient section, the only ones
    ever sent to the host (before 2026-12-01's session 13 every tail had one: 4 of the swap's 16 host
    bytes per element, unused)."""

    def __init__(self, unit: FlatUnit, env: UnitEnv, offload_ratio: float, counted, host16: bool,
                 lean_grads: bool = False):
        shard = unit.initial_shard
        self.numel = shard.numel()
        self.head = split_point(self.numel, offload_ratio)
        tail = self.numel - self.head
        self.master_dev = shard[: self.head].to(torch.float32, copy=True)  # one copy (.float().clone() made two)
        self.master_host = host_buffer(tail, torch.float32, env.pinned)
        self.master_host.copy_(shard[self.head:])
        self.grad_dev = torch.zeros_like(self.master_dev)
        self.grad_from = min(max(unit.layout.host_shard_start() - self.head, 0), tail) if lean_grads else 0
        self.grad_host = host_buffer(tail - self.grad_from, torch.float32, env.pinned)
        self.host16 = host_buffer(tail if host16 else 0, env.dtype, env.pinned)
        self.host16_free = None  # event: the last copy out of host16 finished
        self.master_dev.grad = self.grad_dev
        if not self.grad_from:  # DeepSpeedCPUAdam reads the tail's .grad
            self.master_host.grad = self.grad_host
        self.dev_ranges = [(a, min(b, self.head)) for a, b in counted if a < self.head]
        self.host_ranges = [(max(a, self.head) - self.head, b - self.head) for a, b in counted
                            if b > self.head]
        self.eager: list[tuple[int, int]] = []  # tail ranges sent unclipped this step

    def host_grad(self, start: int, end: int) -> torch.Tensor:
        """The host gradient of tail positions [start, end) (all at or after grad_from)."""
        if start < self.grad_from:
            raise IndexError(f"tail position {start} has no host gradient (they begin at {self.grad_from})")
        return self.grad_host[start - self.grad_from: end - self.grad_from]


def square_norm(tensor: torch.Tensor) -> torch.Tensor:
    """Sum of squares of a gradient range (host tail piece or device head), in one read of it. `pow(2).sum()`
    allocated a temporary of the range's size: on the device a head-sized fp32 block at the step (until
    session 57), on the host a fresh allocation (page faults) every step: 4.3
    ns/element against 0.12 for this, one core of the CPU machine, 128 MiB of fp32 (gpt-1.3b PP2
    with optimizer offload 0.5 has 355M host elements per rank; bench/engine/host_step.py times
    both). The same formulation as DeepSpeed's ZeRO norm (stage_1_and_2.get_grad_norm_direct:
    vector_norm per tensor, squared and summed)."""
    return torch.linalg.vector_norm(tensor).square()


def adam_hyperparameters(ds_config: dict) -> dict:
    """lr, betas, eps and weight_decay of the ds_config's AdamW section."""
    section = ds_config.get("optimizer") or {}
    kind = str(section.get("type", "AdamW")).lower()
    if kind not in ("adamw", "adam"):
        raise ValueError(f"mistpipe runs AdamW; ds_config asks for optimizer {section.get('type')!r}")
    params = section.get("params", {})
    return {"lr": params.get("lr", 1e-3), "betas": tuple(params.get("betas", (0.9, 0.999))),
            "eps": params.get("eps", 1e-8), "weight_decay": params.get("weight_decay", 0.0)}


class ShardedAdam:
    """AdamW over the rank's shards: device heads on the device, host tails on the host (CPU Adam)
    or streamed through the device (SwapAdam). `step()` updates everything; `prepare()` then
    `step_unit(i)` per unit is the same update, split so units can be stepped later (deferred)."""

    def __init__(self, units: list[FlatUnit], env: UnitEnv, hyper: dict, offload_ratio: float,
                 clip: float, counted: list[list[tuple[int, int]]], mp_group=None, store_fn=None,
                 host_path: str = "gpu_swap", swap_gradients: str = "device"):
        if host_path not in HOST_PATHS:
            raise ValueError(f"optimizer offload path must be one of {HOST_PATHS}, not {host_path!r}")
        if swap_gradients not in SWAP_GRADIENTS:
            raise ValueError(f"swap_gradients must be one of {SWAP_GRADIENTS}, not {swap_gradients!r}")
        self.swap_gradients = swap_gradients
        self.units, self.env, self.clip, self.mp_group = units, env, clip, mp_group
        self.store = store_fn or (lambda unit, shard16: unit.store_update(shard16, None))
        lean = host_path == "gpu_swap" and swap_gradients == "device"
        self.shards = [UnitShard(u, env, offload_ratio, c, host16=host_path == "cpu_adam", lean_grads=lean)
                       for u, c in zip(units, counted)]
        # one optimizer per unit and side, so a unit can be stepped on its own (deferred step)
        fused = env.device.type == "cuda"
        self.device_adams = [torch.optim.AdamW([s.master_dev], fused=fused, **hyper) if s.head
                             else None for s in self.shards]
        offloaded = [s for s in self.shards if s.numel > s.head]
        tails = [s.master_host for s in offloaded]
        self.host_adams: list = [None] * len(self.shards)
        self.swap = None
        if tails and host_path == "gpu_swap":
            self.swap = SwapAdam(tails, [(s.grad_host, s.grad_from) for s in offloaded], env.streams, hyper,
                                 env.pinned)
            self._swap_index = {id(t): i for i, t in enumerate(tails)}
        elif tails:
            from deepspeed.ops.adam import DeepSpeedCPUAdam

            self.host_adams = [DeepSpeedCPUAdam([s.master_host], adamw_mode=True, **hyper)
                               if s.numel > s.head else None for s in self.shards]
        self.param_groups = [{"lr": hyper["lr"]}]  # what DeepSpeedEngine.get_lr() reads
        self.global_grad_norm: float | None = None
        self._host_events: list = []  # d2h of host tails sent before the norm (take_chunk)
        self._tail_square = None  # device sum of squares of the host tails' counted elements
        self._late: list = []  # (unit, tail start, kept chunk) sent after the norm (_send_late)
        self._late_events: dict = {}  # unit -> event: its late host gradients landed
        self._swap_kept: dict = {}  # unit -> [(tail offset, device chunk)]: gradients GPU swap reads on the device
        self.grad_numel_to_host = 0  # fp32 gradient elements sent to the host so far (all steps)
        self._ring = None  # two fp32 device buffers tail gradients go to the host through (_ring_buffers)
        self._ring_free: list = [None, None]  # per ring buffer: its last copy to the host finished
        self._ring_turn = 0
        max_shard = max(s.numel for s in self.shards)
        # two 16-bit staging buffers for the new shards: unit k+1 is written while unit k's
        # all-gather / store copies still read the other one
        self._shard16 = [torch.empty(max_shard, device=env.device, dtype=env.dtype) for _ in range(2)]
        self._shard16_free: list = [None, None]
        self._turn = 0

    def take_chunk(self, index: int, offset: int, chunk: torch.Tensor, kept: bool = False) -> None:
        """Average a reduced gradient chunk over DP and store it in fp32 at shard position `offset`
        of unit `index`: the device head now; the host tail's share of the global norm now (on the
        device, from the fp32 upcast), and its values either now (d2h through the ring, unclipped:
        _send_eager) or, when `kept` (the chunk stays valid on the device until the unit's next
        accumulation) and the host path is CPU Adam, after the norm is known (prepare: upcast,
        averaged and clipped on the device, then d2h), so the host never reads the gradients for a
        norm or clips them; when `kept` and the path is GPU swap, never: SwapAdam.update reads the
        chunk on the device."""
        shard, scale, end = self.shards[index], 1.0 / self.env.dp_world, offset + chunk.numel()
        if offset < shard.head:
            stop = min(end, shard.head)
            shard.grad_dev[offset:stop].copy_(chunk[: stop - offset]).mul_(scale)
        if end <= shard.head:
            return
        lo = max(offset, shard.head)
        source = chunk[lo - offset:]
        if kept and (self.swap is None or self.swap_gradients == "device"):
            self._add_kept_square(shard, lo - shard.head, source, scale)
            if self.swap is None:
                self._late.append((index, lo - shard.head, source))
            else:  # SwapAdam reads it there: no round trip
                self._swap_kept.setdefault(index, []).append((lo - shard.head, source))
            return
        shard.eager.append((lo - shard.head, end - shard.head))
        self._send_eager(shard, lo - shard.head, source, scale)

    def _ring_buffers(self) -> list[torch.Tensor]:
        """The two fp32 device buffers every tail gradient goes to the host through (made on first
        use, kept): of SWAP_CHUNK_NUMEL elements, or of the largest tail if smaller."""
        if self._ring is None:
            size = min(SWAP_CHUNK_NUMEL, max(s.numel - s.head for s in self.shards))
            self._ring = [torch.empty(size, device=self.env.device) for _ in range(2)]
        return self._ring

    def _send_eager(self, shard: UnitShard, start: int, source: torch.Tensor, scale: float) -> None:
        """Upcast and average a reduced tail chunk (`source`, tail positions from `start`) piece by
        piece into the ring on the compute stream, add each piece to the norm's sum of squares and copy
        it to the host gradient on the d2h stream. A ring buffer is rewritten only after its last copy
        out (the compute stream waits for it), so at most two buffers of gradients wait for the link.
        Before session 13 every chunk had its own fp32 copy, freed while its d2h still read it: the
        caching allocator held all of them until the copies ended (10.6 GB pending, 14.9 GB reserved
        for 7.9 GB allocated on the all-on-host gpt-2.7b plan: bench/results/engine/README.md session 13)."""
        streams, ring = self.env.streams, self._ring_buffers()
        size = ring[0].numel()
        for piece in range(0, source.numel(), size):
            n = min(size, source.numel() - piece)
            which = self._ring_turn % 2
            self._ring_turn += 1
            streams.wait(self._ring_free[which], "compute")
            buffer = ring[which][:n]
            buffer.copy_(source[piece: piece + n]).mul_(scale)
            self._add_tail_square(shard, start + piece, buffer)
            streams.fork("d2h")
            with streams.on("d2h"):
                shard.host_grad(start + piece, start + piece + n).copy_(buffer, non_blocking=True)
                self._ring_free[which] = streams.record("d2h")
            self.grad_numel_to_host += n
        self._host_events.append(self._ring_free[which])  # d2h runs in order: the last copy covers the rest

    def _add_kept_square(self, shard: UnitShard, start: int, source: torch.Tensor, scale: float) -> None:
        """Add a kept tail chunk's squares (averaged: x `scale`) to the device sum, upcast to fp32 one piece of
        NORM_PIECE_NUMEL elements at a time. A copy even when the chunk is fp32 already (grad_accum_dtype fp32):
        scaling it in place would scale the gradient the late d2h and the swap read from the accumulation
        buffer twice. Before session 57 the whole chunk was upcast at once: on Llama-3-8B's one-stage plan
        the unit holding both vocabulary matrices made a 4.2 GB fp32 copy after the backward, and no free
        range of the segment held it: reserved memory grew 3.2 GB past its previous high
        (bench/results/runtime/frag_growth_S57/)."""
        for piece in range(0, source.numel(), NORM_PIECE_NUMEL):
            part = source[piece: piece + NORM_PIECE_NUMEL].to(torch.float32, copy=True).mul_(scale)
            self._add_tail_square(shard, start + piece, part)

    def _add_tail_square(self, shard: UnitShard, start: int, tail: torch.Tensor) -> None:
        """Add the counted part of host-tail positions [start, start + len(tail)) to the device sum
        of squares (compute stream: no host pass over the offloaded gradients)."""
        stop = start + tail.numel()
        for a, b in shard.host_ranges:
            lo, hi = max(a, start), min(b, stop)
            if lo < hi:
                part = square_norm(tail[lo - start: hi - start])
                self._tail_square = part if self._tail_square is None else self._tail_square + part

    def _global_norm(self) -> float:
        """sqrt of the summed squares of every counted gradient element: device heads here, host
        tails already summed on the device by take_chunk; one all-reduce per group, one host read."""
        total = torch.zeros((), dtype=torch.float32, device=self.env.device)
        for shard in self.shards:
            for a, b in shard.dev_ranges:
                total += square_norm(shard.grad_dev[a:b])  # no temporary: pow(2) made one of the head's size
        if self._tail_square is not None:
            total += self._tail_square
        self._tail_square = None
        if self.env.opt_world > 1:
            dist.all_reduce(total, group=self.env.dp_group)
        if self.mp_group is not None and dist.get_world_size(self.mp_group) > 1:
            dist.all_reduce(total, group=self.mp_group)
        return float(total.sqrt())

    def prepare(self) -> None:
        """Global norm and clipping of every shard's gradients (the step's only global part).
        Clipping: device heads on the device; host tails taken late (take_chunk `kept`) on the
        device before their d2h (`_send_late`); tails sent early by CPU Adam on the host (only
        those of host gradient sections); with GPU swap on the device after each chunk's swap-in
        (SwapAdam.update)."""
        for event in self._host_events:  # the early host gradients have landed
            self.env.streams.host_wait(event)
        self._host_events = []
        norm = self._global_norm()
        self.global_grad_norm = norm
        coef = max(1.0, (norm + 1e-6) / self.clip) if self.clip > 0 else 1.0
        inverse = 1.0 / coef if coef > 1.0 else None  # x * 1.0 is x: no pass when nothing is clipped
        for shard in self.shards:
            if inverse is not None:
                shard.grad_dev.mul_(inverse)
            if inverse is not None and self.swap is None:
                for a, b in shard.eager:
                    shard.host_grad(a, b).mul_(inverse)
            shard.eager = []
        self._send_late(inverse)
        if self.swap is not None:
            self.swap.begin_step(inverse)

    def _send_late(self, inverse: float | None) -> None:
        """The kept host-tail chunks: upcast, averaged and clipped through the ring and copied to the
        host, all on the d2h stream (in stream order no buffer is overwritten early, and the compute
        stream stays free for the device Adam; the next eager upcast into a buffer waits for its copy).
        Each unit's last copy is recorded: its CPU Adam waits for it (finish_unit), its accumulation
        buffer is zeroed after it."""
        if not self._late:
            return
        streams, scale, ring = self.env.streams, 1.0 / self.env.dp_world, self._ring_buffers()
        size = ring[0].numel()
        streams.fork("d2h")
        with streams.on("d2h"):
            for index, start, chunk in self._late:
                shard = self.shards[index]
                self.grad_numel_to_host += chunk.numel()
                for piece in range(0, chunk.numel(), size):
                    n = min(size, chunk.numel() - piece)
                    which = self._ring_turn % 2
                    self._ring_turn += 1
                    buffer = ring[which][:n]
                    buffer.copy_(chunk[piece: piece + n]).mul_(scale)
                    if inverse is not None:
                        buffer.mul_(inverse)
                    shard.host_grad(start + piece, start + piece + n).copy_(buffer, non_blocking=True)
                    self._ring_free[which] = streams.record("d2h")
                self._late_events[index] = streams.record("d2h")
                self.units[index].zero_after(self._late_events[index])
        self._late = []

    def step(self) -> list:
        """Clip, update every shard and hand each unit its new 16-bit shard. Returns, per unit,
        the event after which its weights are written."""
        self.prepare()
        return [self.step_unit(index) for index in range(len(self.shards))]

    def step_unit(self, index: int):
        """Adam on unit `index`'s shard (after prepare), and its new weights handed over."""
        self.step_device(index)
        return self.finish_unit(index)

    def step_device(self, index: int) -> None:
        """The device head's AdamW (queued on the current stream; nothing waits on the host)."""
        if self.device_adams[index] is not None:
            self.device_adams[index].step()

    def finish_unit(self, index: int):
        """After step_device: the host tail's update (CPU Adam on the host, or SwapAdam) and the
        unit's new 16-bit shard handed over. Returns the event after which its weights are written."""
        streams, unit, shard = self.env.streams, self.units[index], self.shards[index]
        if self.host_adams[index] is not None:
            streams.host_wait(self._late_events.pop(index, None))  # its clipped gradients landed
            self.host_adams[index].step()  # on the host, while the device runs what is queued
        which = self._turn % 2
        self._turn += 1
        for stream in ("compute", "h2d"):  # the buffer's last readers are done
            streams.wait(self._shard16_free[which], stream)
        shard16 = self._shard16[which][: shard.numel]
        shard16[: shard.head].copy_(shard.master_dev)
        if shard.numel > shard.head and self.swap is not None:
            kept = self._swap_kept.pop(index, ())
            self.swap.update(self._swap_index[id(shard.master_host)], shard16[shard.head:], kept,
                             1.0 / self.env.dp_world)
            if kept:  # the accumulation buffer is zeroed only after the swap read it
                unit.zero_after(streams.record("compute"))
        elif shard.numel > shard.head:
            streams.host_wait(shard.host16_free)  # last step's copy out of host16 is done
            shard.host16.copy_(shard.master_host)
            with streams.on("h2d"):
                shard16[shard.head:].copy_(shard.host16, non_blocking=True)
                shard.host16_free = streams.record("h2d")
            streams.wait(shard.host16_free, "compute")
        done = self.store(unit, shard16)
        self._shard16_free[which] = done
        return done

    def state_numel(self) -> dict[str, int]:
        """Elements of fp32 state on the device and on the host (for tests and reports)."""
        head = sum(s.head for s in self.shards)
        tail = sum(s.numel - s.head for s in self.shards)
        return {"device": head, "host": tail}
