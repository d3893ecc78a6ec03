"""FlatUnit: one unit's parameters in a flat space (layout.py) with its 16-bit weights and its
gradient-accumulation buffer.

Weights. A *resident* unit keeps the full flat weights on the device and its parameters are views
into them. A *managed* unit (a block with ZeRO-3 and/or weight offload) stores only its share (its
shard with ZeRO-3, else everything), split into a device head and a pinned-host tail; `fill` copies
the tail in (h2d stream) and all-gathers the shards in place (comm stream) into a device slot lent
by the stage, `bind` points the parameters at the slot and `unbind` points them at an empty tensor.

Gradients. Autograd's fresh gradient of every parameter is added into the unit's flat accumulation
buffer by a post-accumulate-grad hook and then dropped (`param.grad = None`), so gradients of all
micro-batches accumulate in one place and are reduced once per iteration. The host section (last
`offload_gradients_ratio` of the buffer) lives in pinned memory between micro-batches: the stage
lends a device staging slot for each backward of the block (zeroed on the first micro-batch, else
copied in), and copies it back out afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist

from mist_ds.runtime.mistpipe.layout import UnitLayout, split_point, unit_layout
from mist_ds.runtime.mistpipe.streams import Streams, host_buffer


@dataclass
class UnitEnv:
    """What every unit of a stage shares: streams, dtypes and the data-parallel group."""

    streams: Streams
    dtype: torch.dtype
    dp_group: object
    dp_world: int
    dp_rank: int
    opt_world: int
    pinned: bool
    grad_dtype: torch.dtype | None = None  # gradient accumulation and reduction; None: dtype

    @property
    def accum_dtype(self) -> torch.dtype:
        return self.grad_dtype or self.dtype

    @property
    def device(self) -> torch.device:
        return self.streams.device

    @property
    def opt_rank(self) -> int:
        return self.dp_rank if self.opt_world > 1 else 0


def flatten_params(params: list[torch.nn.Parameter], padded: int, device, dtype) -> torch.Tensor:
    """The parameters' current values back to back in a zero-padded flat tensor."""
    flat = torch.zeros(padded, device=device, dtype=dtype)
    offset = 0
    for param in params:
        flat[offset: offset + param.numel()].copy_(param.data.reshape(-1))
        offset += param.numel()
    return flat


class FlatUnit:
    """A unit's weights (resident or managed) and gradient accumulation."""

    def __init__(self, name: str, params: list[torch.nn.Parameter], env: UnitEnv, *,
                 managed: bool = False, shard_weights: bool = False, weight_offload: float = 0.0,
                 grad_offload: float = 0.0):
        self.name, self.params, self.env, self.managed = name, params, env, managed
        self.shapes = [p.shape for p in params]
        offsets = [0]
        for param in params:
            offsets.append(offsets[-1] + param.numel())
        self.spans = list(zip(offsets[:-1], offsets[1:]))
        self.layout: UnitLayout = unit_layout(offsets[-1], env.opt_world, grad_offload)
        full = flatten_params(params, self.layout.padded_numel, env.device, env.dtype)
        self.initial_shard = self.shard_of(full)  # the optimizer builds its fp32 master from it
        self._views: dict[int, tuple[torch.Tensor, list[torch.Tensor]]] = {}  # bind's, per buffer
        self.full = None if managed else full
        self._empty = torch.empty(0, device=env.device, dtype=env.dtype)
        if managed:
            self.weight_world = env.opt_world if shard_weights else 1
            store = self.initial_shard if shard_weights else full
            head = split_point(store.numel(), weight_offload)
            self.store_dev = store[:head].clone()
            self.store_host = host_buffer(store.numel() - head, env.dtype, env.pinned)
            self.store_host.copy_(store[head:])
            self.store_events: list = []
            self.fill_done = None  # event: the last fill finished reading the store
            self.unbind()
        else:
            self.bind(full)
        sections = self.layout.sections
        self.dev_numel = sum(s.numel for s in sections if not s.on_host)
        self.host_numel = self.layout.padded_numel - self.dev_numel
        self.acc_dev = torch.zeros(self.dev_numel, device=env.device, dtype=env.accum_dtype)
        # accumulate's destination of each parameter wholly in the device section, shaped like it
        self._acc_views = [self.acc_dev[start:end].view(shape) if end <= self.dev_numel else None
                           for (start, end), shape in zip(self.spans, self.shapes)]
        self.acc_host = host_buffer(self.host_numel, env.accum_dtype, env.pinned)
        self.staging: torch.Tensor | None = None  # device slot holding the host section in backward
        self.fresh = True  # no micro-batch has accumulated since the last reduction
        self.host_done = None  # event: the last copy into acc_host finished
        self.needs_zero = False  # acc_dev still holds the last reduction (zeroed before next use)
        self.zeroable = None  # event: the last reader of that reduction (the optimizer's d2h)

    # ---- layout helpers
    def shard_of(self, full: torch.Tensor) -> torch.Tensor:
        """This rank's shard (owned ranges, in shard order) of a flat tensor."""
        ranges = self.layout.owned_ranges(self.env.opt_rank)
        return torch.cat([full[start:end] for start, end, _ in ranges]).clone()

    def owned_copies(self, shard_len: int):
        """(flat_start, shard_start, length) pieces mapping this rank's shard into the flat space."""
        for flat_start, flat_end, shard_start in self.layout.owned_ranges(self.env.opt_rank):
            yield flat_start, shard_start, min(flat_end - flat_start, shard_len - shard_start)

    # ---- weights
    def bind(self, full: torch.Tensor) -> None:
        """Point every parameter at its place in `full` (the flat weights). The views of each
        buffer are made once (a managed unit is bound to the same few device slots twice per
        micro-batch; slicing and viewing them again cost ~1 us a parameter, host_hooks.py)."""
        cached = self._views.get(id(full))
        if cached is None or cached[0] is not full:  # the buffer is kept: its id stays its own
            cached = (full, [full[start:end].view(shape)
                             for (start, end), shape in zip(self.spans, self.shapes)])
            self._views[id(full)] = cached
        for param, view in zip(self.params, cached[1]):
            param.data = view

    def unbind(self) -> None:
        """Detach the parameters from any full buffer (a managed unit between uses)."""
        for param in self.params:
            param.data = self._empty

    def fill(self, buffer: torch.Tensor):
        """Materialise a managed unit's full weights into `buffer`; returns the ready event."""
        streams, full = self.env.streams, buffer[: self.layout.padded_numel]
        head = self.store_dev.numel()
        for event in self.store_events:  # the last optimizer step's writes to the store
            streams.wait(event, "h2d")
        with streams.on("h2d"):
            if self.weight_world == 1:
                full[:head].copy_(self.store_dev, non_blocking=True)
                full[head: head + self.store_host.numel()].copy_(self.store_host, non_blocking=True)
            else:
                self._scatter_store_into(full, head)
            ready = streams.record("h2d")
        if self.weight_world > 1:
            ready = self.all_gather_in_place(full, ready)
        self.fill_done = ready
        return ready

    def _scatter_store_into(self, full: torch.Tensor, head: int) -> None:
        """Copy the stored shard (device head, host tail) to this rank's places in `full`."""
        for flat_start, shard_start, length in self.owned_copies(self.layout.shard_numel):
            end = shard_start + length
            for lo, hi, source, base in ((shard_start, min(end, head), self.store_dev, 0),
                                         (max(shard_start, head), end, self.store_host, head)):
                if lo < hi:
                    dest = full[flat_start + lo - shard_start: flat_start + hi - shard_start]
                    dest.copy_(source[lo - base: hi - base], non_blocking=True)

    def all_gather_in_place(self, full: torch.Tensor, after):
        """All-gather every section of `full` from the chunk each rank wrote (comm stream)."""
        streams, env = self.env.streams, self.env
        if env.opt_world == 1:
            return after
        streams.wait(after, "comm")
        with streams.on("comm"):
            for section, _, chunk in self.layout.section_chunks():
                region = full[section.start: section.end]
                mine = region[env.opt_rank * chunk: (env.opt_rank + 1) * chunk]
                dist.all_gather_into_tensor(region, mine, group=env.dp_group)
            return streams.record("comm")

    def store_update(self, shard16: torch.Tensor, slot_buffer: torch.Tensor | None):
        """Take the optimizer's updated 16-bit shard. Resident: written into the full weights and
        all-gathered. Managed: written into the store (all-gathered first through `slot_buffer` when
        the store holds full weights but the optimizer is sharded). Returns the last event."""
        streams = self.env.streams
        if not self.managed:
            self._write_owned(self.full, shard16)
            return self.all_gather_in_place(self.full, streams.record("compute"))
        if self.weight_world == 1 and self.env.opt_world > 1:
            full = slot_buffer[: self.layout.padded_numel]
            self._write_owned(full, shard16)
            done = self.all_gather_in_place(full, streams.record("compute"))
            source = full
        else:
            done, source = streams.record("compute"), shard16
        head = self.store_dev.numel()
        streams.wait(done, "compute")
        for stream in ("compute", "d2h"):  # no fill still reads the old store
            streams.wait(self.fill_done, stream)
        self.store_dev.copy_(source[:head])
        written = streams.record("compute")
        streams.fork("d2h")
        with streams.on("d2h"):
            self.store_host.copy_(source[head: head + self.store_host.numel()], non_blocking=True)
            self.store_events = [written, streams.record("d2h")]
        return self.store_events[-1]

    def _write_owned(self, full: torch.Tensor, shard: torch.Tensor) -> None:
        for flat_start, shard_start, length in self.owned_copies(shard.numel()):
            full[flat_start: flat_start + length].copy_(shard[shard_start: shard_start + length])

    # ---- gradients
    def zero_after(self, event) -> None:
        """The reduced gradients in acc_dev are read until `event` (the optimizer's late d2h)."""
        self.zeroable = event

    def clear_reduced(self) -> None:
        """Zero acc_dev if it still holds the last iteration's reduction, on the compute stream
        after its last reader (called before any accumulation or reduction uses it)."""
        if self.needs_zero:
            self.env.streams.wait(self.zeroable, "compute")
            self.acc_dev.zero_()
            self.needs_zero, self.zeroable = False, None

    def accumulate(self, index: int, grad: torch.Tensor) -> None:
        """Add parameter `index`'s fresh gradient into the accumulation buffer(s)."""
        if self.needs_zero:
            self.clear_reduced()
        dest = self._acc_views[index]
        if dest is not None:  # the same elements as the flat path below, without its views
            dest.add_(grad)
            return
        start, end = self.spans[index]
        flat, split = grad.reshape(-1), self.dev_numel
        if start < split:
            stop = min(end, split)
            self.acc_dev[start:stop].add_(flat[: stop - start])
        if end > split:
            lo = max(start, split)
            self.staging[lo - split: end - split].add_(flat[lo - start:])

    def fusable(self, index: int) -> bool:
        """Whether parameter `index`'s weight gradient can be added by its GEMM (runtime/wgrad.py): it
        lies wholly in the device section, in the gradient dtype. The others (host-section tails, an
        accumulation dtype of its own) take accumulate's separate add, through autograd."""
        dest = self._acc_views[index]
        return dest is not None and dest.dtype == self.params[index].dtype

    def accumulate_with(self, index: int, write) -> None:
        """Accumulate fusable parameter `index`'s weight gradient through `write` (runtime/wgrad.py)
        into its device view: one accumulating GEMM."""
        if self.needs_zero:
            self.clear_reduced()
        write(self._acc_views[index])

    def begin_backward(self, staging: torch.Tensor | None):
        """Before a backward of the unit: lend the host section a device staging buffer, zeroed on
        the first micro-batch of an iteration, else copied in (h2d stream). Returns the event."""
        if not self.host_numel:
            return None
        streams = self.env.streams
        self.staging = staging[: self.host_numel]
        if self.fresh:
            self.staging.zero_()
            return None
        streams.wait(self.host_done, "h2d")
        with streams.on("h2d"):
            self.staging.copy_(self.acc_host, non_blocking=True)
            return streams.record("h2d")

    def end_backward(self):
        """After a backward of the unit: copy the staging buffer out (d2h stream); returns the event
        after which the staging slot is idle."""
        self.fresh = False
        if not self.host_numel:
            return None
        streams = self.env.streams
        streams.fork("d2h")
        with streams.on("d2h"):
            self.acc_host.copy_(self.staging, non_blocking=True)
            self.host_done = streams.record("d2h")
        self.staging = None
        return self.host_done

    def reduce(self, staging: torch.Tensor | None, on_chunk) -> None:
        """Sum the accumulated gradients over the DP group, once per iteration: an in-place
        reduce-scatter per section when the optimizer is sharded, an all-reduce otherwise (comm
        stream; the host section goes through `staging`). `on_chunk(shard_start, chunk, kept)` receives
        each reduced (not yet averaged) chunk of this rank's shard on the compute stream, and whether
        it stays valid until the unit's next accumulation (device sections: acc_dev is zeroed
        only then, clear_reduced; host sections pass through `staging`, reused at once)."""
        streams, env = self.env.streams, self.env
        self.clear_reduced()  # nothing accumulated since the last reduction
        ready = streams.record("compute")
        for section, offset, chunk in self.layout.section_chunks():
            if section.on_host and self.fresh:  # nothing accumulated this iteration
                region = staging[: section.numel].zero_()
            elif section.on_host:
                region = staging[: section.numel]
                streams.wait(self.host_done, "h2d")
                with streams.on("h2d"):
                    region.copy_(self.acc_host, non_blocking=True)
                    ready = streams.record("h2d")
            else:
                region = self.acc_dev[section.start: section.end]
            mine = region[env.opt_rank * chunk: (env.opt_rank + 1) * chunk]
            streams.wait(ready, "comm")
            with streams.on("comm"):
                if env.opt_world > 1:
                    dist.reduce_scatter_tensor(mine, region, group=env.dp_group)
                elif env.dp_world > 1:
                    dist.all_reduce(region, group=env.dp_group)
                streams.wait(streams.record("comm"), "compute")
            on_chunk(offset, mine, not section.on_host)
        self.needs_zero = True  # zeroed before the next accumulation: the optimizer may read it late
        self.fresh = True
