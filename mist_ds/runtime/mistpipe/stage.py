"""StageRuntime: one pipeline stage's units, hooks, prefetching and optimizer, for one memory
strategy (memory.py). The engine (engine.py) calls `begin_pass` once per forward pass and
`reduce_tied`, `reduce_gradients`, `step` from the schedule's end-of-batch instructions; everything
else runs from hooks the runtime installs on the stage's modules:

- each block's `forward` is wrapped: gather/bind its weights (managed units; the next block's are
  prefetched), run it under the saved-tensor policy (weight descriptors, activation offload), put a
  `_BlockBoundary` on its output, then release the weights;
- `_BlockBoundary.backward` fires when the block's backward is about to start: gather/bind its
  weights, stage its host gradient section, fetch its offloaded activations, and prefetch all three
  for the block before it;
- every parameter's post-accumulate-grad hook moves the fresh gradient into the unit's flat buffer;
  the unit's last one ends the block's backward (gradients copied out, weights released).
"""

from __future__ import annotations

import weakref
from contextlib import nullcontext
from functools import partial

import torch
import torch.distributed as dist
from torch import nn

from mist_ds.config.executors import MISTPIPE
from mist_ds.runtime.mistpipe.actoffload import QUEUE_BLOCKS, RELOAD_SLABS, ActivationOffloader, Saved
from mist_ds.runtime.mistpipe.memory import StageMemory
from mist_ds.runtime.mistpipe.optimizer import ShardedAdam
from mist_ds.runtime.mistpipe.streams import DeviceSlots, PinnedPool
from mist_ds.runtime.mistpipe.unit import FlatUnit, UnitEnv
from mist_ds.runtime.mistpipe.weightview import WeightView, rebuild, storage_span, weight_view
from mist_ds.runtime.tp import ParallelLinear, VocabParallelEmbedding
from mist_ds.runtime.wgrad import fuse_weight_gradients


FUSED_WGRAD = MISTPIPE.constants.fused_wgrad
"""The engine's default: block linears add their weight gradients into the unit's accumulation buffer
in their GEMM (runtime/wgrad.py; the measurement is at MistpipeConstants.fused_wgrad)."""


def recorded_fused_wgrad(plan) -> bool | None:
    """RunReport.fused_wgrad of a run of `plan`: FUSED_WGRAD for a mistpipe plan, else None."""
    return FUSED_WGRAD if plan.executor == MISTPIPE.name else None


def recorded_fused_head_wgrad(plan) -> bool | None:
    """RunReport.fused_head_wgrad and .fused_tied_head_wgrad of a run of `plan`: FUSED_WGRAD for a mistpipe
    plan (StageRuntime._fuse_head fuses either head), else None."""
    return FUSED_WGRAD if plan.executor == MISTPIPE.name else None


class _BlockBoundary(torch.autograd.Function):
    """Identity whose backward tells the runtime that a block's backward starts now."""

    @staticmethod
    def forward(ctx, x, runtime, unit, pass_id):
        ctx.runtime, ctx.unit, ctx.pass_id = runtime, unit, pass_id
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        ctx.runtime.backward_begin(ctx.unit, ctx.pass_id)
        return grad, None, None, None


def _grad_hook(runtime_ref, u: int, i: int, param: nn.Parameter) -> None:
    """Post-accumulate-grad hook body. It holds the runtime by weak reference: torch's garbage
    collector does not see through a parameter's post-accumulate-grad hooks (a hook that refers to
    an object holding the parameter is an uncollectable cycle), and a strong reference kept every
    stage's units, slots and optimizer alive after its engine was dropped (+8-13 GiB per variant in
    bench/engine/mistpipe_offload.py on 2x H200, 2026-11-30)."""
    runtime = runtime_ref()
    if runtime is not None:
        runtime._on_grad(u, i, param)


def _wgrad_sink(runtime_ref, u: int, i: int, write) -> None:
    """A block weight's wgrad_sink (runtime/wgrad.py), by weak reference as _grad_hook."""
    runtime = runtime_ref()
    if runtime is not None:
        runtime._on_wgrad(u, i, write)


def counted_spans(unit: FlatUnit, tp_rank: int) -> list[tuple[int, int]]:
    """Flat spans of the unit's parameters that the global gradient norm counts on this rank
    (DeepSpeed stage_1_and_2.get_grad_norm_direct: skip ds_pipe_replicated copies; TP-replicated
    parameters only on TP rank 0)."""
    spans = []
    for param, span in zip(unit.params, unit.spans):
        if getattr(param, "ds_pipe_replicated", False):
            continue
        if getattr(param, "tensor_model_parallel", False) or getattr(param, "model_parallel", False) \
                or tp_rank == 0:
            spans.append(span)
    return spans


def plain_forward(block: nn.Module):
    """The block's forward without torch's synchronous save_on_cpu: a block built with the 'offload'
    role (model.OffloadedBlock) runs as a TransformerBlock; StageMemory decides what is offloaded."""
    from mist_ds.runtime.model import OffloadedBlock, TransformerBlock

    if isinstance(block, OffloadedBlock):
        return partial(TransformerBlock.forward, block)
    return block.forward


class StageRuntime:
    """Units, slots, pools, hooks and the optimizer of one stage on one rank."""

    def __init__(self, module: nn.Module, memory: StageMemory, env: UnitEnv, *, hyper: dict,
                 clip: float, mp_group, tp_rank: int, is_block, num_slots: int = 3,
                 min_offload_numel: int = 1024, optimizer_offload_path: str = "gpu_swap",
                 defer_step: bool = False, num_reload_slabs: int = RELOAD_SLABS,
                 d2h_queue_bytes: int | None = None, d2h_queue_blocks: int = QUEUE_BLOCKS,
                 swap_gradients: str = "device", fused_wgrad: bool = FUSED_WGRAD):
        self.memory, self.env, self.streams = memory, env, env.streams
        self.fused_wgrad = fused_wgrad  # block linears add their weight gradients in their GEMM (wgrad.py)
        self.num_fused_wgrads = 0  # weight gradients added into the accumulation buffer by their GEMM
        self.num_fused_head_wgrads = 0  # of them, the LM head's (_fuse_head)
        layers = getattr(module, "forward_funcs", list(module.children()))
        self.blocks = [m for m in layers if isinstance(m, nn.Module) and is_block(m)]
        self.units = self._build_units(module, memory, env)
        managed = [u for u in self.units if u.managed]
        self.wslots = (DeviceSlots(self.streams, num_slots, max(u.layout.padded_numel for u in managed),
                                   env.dtype) if managed else None)
        host = [u.host_numel for u in self.units if u.host_numel]
        self.gslots = DeviceSlots(self.streams, num_slots, max(host), env.accum_dtype) if host else None
        self.pool = PinnedPool(self.streams, env.pinned)
        self.offloaded = self._offloaded_blocks(memory.num_offloaded_layers)
        self.offloader = ActivationOffloader(self.streams, self.pool, min_offload_numel,
                                             num_slabs=min(num_reload_slabs, len(self.offloaded)),
                                             d2h_queue_bytes=d2h_queue_bytes,
                                             d2h_queue_blocks=d2h_queue_blocks)
        self._offloaded_below = [max((j for j in self.offloaded if j < u), default=None)
                                 for u in range(len(self.blocks))]
        counted = [env_spans for env_spans in
                   (u.layout.shard_ranges(env.opt_rank, counted_spans(u, tp_rank)) for u in self.units)]
        self.optimizer = ShardedAdam(self.units, env, hyper, memory.offload_optimizer_ratio, clip,
                                     counted, mp_group=mp_group, store_fn=self._store,
                                     host_path=optimizer_offload_path, swap_gradients=swap_gradients)
        for unit in self.units:
            unit.initial_shard = None  # the optimizer holds its fp32 copy now
        self.pass_id = 0
        self.defer_step = defer_step
        self._pending: set[int] = set()  # blocks whose optimizer step waits for their next forward
        self._started: set[int] = set()  # pending blocks whose device update is already queued
        self._step_done: dict[int, object] = {}  # block -> event: its deferred step wrote weights
        self._prepared = None  # event: the global part of the last step (norm, clipping) is done
        self._weight_slot: dict[int, int] = {}
        self._grad_slot: dict[int, tuple[int, object]] = {}
        self._arrived = [0] * len(self.blocks)
        self._backward_pass = [0] * len(self.blocks)
        self.num_fills = self.num_weight_views = 0
        self._install(module)

    # ---- construction
    def _build_units(self, module, memory: StageMemory, env: UnitEnv) -> list[FlatUnit]:
        managed = memory.zero_stage == 3 or memory.offload_weights_ratio > 0
        units = []
        for index, block in enumerate(self.blocks):
            params = [p for p in block.parameters() if p.requires_grad]
            units.append(FlatUnit(f"block{index}", params, env, managed=managed,
                                  shard_weights=memory.zero_stage == 3,
                                  weight_offload=memory.offload_weights_ratio,
                                  grad_offload=memory.offload_gradients_ratio))
        in_blocks = {id(p) for block in self.blocks for p in block.parameters()}
        rest = [p for p in module.parameters() if p.requires_grad and id(p) not in in_blocks]
        if rest:
            units.append(FlatUnit("resident", rest, env))
        return units

    def _offloaded_blocks(self, count: int) -> set[int]:
        """The first `count` blocks after the recomputed ones (their activations go to the host)."""
        kept = [i for i, block in enumerate(self.blocks) if not getattr(block, "recompute", False)]
        return set(kept[:count])

    def _install(self, module: nn.Module) -> None:
        me = weakref.ref(self)
        self._hooks = [param.register_post_accumulate_grad_hook(partial(_grad_hook, me, u, i))
                       for u, unit in enumerate(self.units) for i, param in enumerate(unit.params)]
        if self.fused_wgrad:
            for u, block in enumerate(self.blocks):
                fuse_weight_gradients(block, partial(self._sink_for, me, u))
            self._fuse_head(me, module)
        for u, block in enumerate(self.blocks):
            block.forward = self._wrapped_forward(u, plain_forward(block))

    def _fuse_head(self, me, module: nn.Module) -> None:
        """Give the LM head's weight a wgrad_sink, so its backward adds dW into the resident unit's buffer in
        its GEMM instead of making a fresh vocabulary x hidden gradient beside the logits (1.05 GB on
        Llama-3-8B, live at S57-2's allocated peak): an untied head (runtime/model.py LMHead, a ParallelLinear)
        since session 58, a tied one (tp.py VocabParallelEmbedding.logits, the embedding matrix: its
        F.embedding gradient still arrives through autograd, added to the same buffer) since S58-2. Both are
        the resident unit's; a sink on an embedding no head uses (a pipeline's first stage) is never called."""
        if len(self.units) == len(self.blocks):
            return  # no resident unit
        resident = {id(p) for p in self.units[-1].params}
        for sub in module.modules():
            weight = getattr(sub, "weight", None)
            if isinstance(sub, (ParallelLinear, VocabParallelEmbedding)) and id(weight) in resident:
                sink = self._sink_for(me, len(self.blocks), weight)
                if sink is not None:
                    weight.wgrad_sink = sink

    def release(self) -> None:
        """Take the runtime's hooks off the stage's parameters and blocks (engine.destroy)."""
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        for unit in self.units:
            for param in unit.params:
                param.__dict__.pop("wgrad_sink", None)
        for block in self.blocks:
            block.__dict__.pop("forward", None)

    def _wrapped_forward(self, u: int, original):
        def forward(*args, **kwargs):
            self._forward_begin(u)
            with self._saved_tensor_hooks(u):
                out = original(*args, **kwargs)
            if torch.is_grad_enabled() and isinstance(out, torch.Tensor) and out.requires_grad:
                out = _BlockBoundary.apply(out, self, u, self.pass_id)
            self._forward_end(u)
            return out
        return forward

    # ---- saved tensors
    def _saved_tensor_hooks(self, u: int):
        unit, offload = self.units[u], u in self.offloaded
        if getattr(self.blocks[u], "recompute", False) or not (unit.managed or offload):
            return nullcontext()  # recomputed blocks save only their input (torch checkpoint)
        key = (self.pass_id, u)
        base = self._weights_base(u)  # bound by _forward_begin; released only after the forward
        span = storage_span(base)

        def pack(tensor):
            view = weight_view(tensor, base, span)
            if view is not None and unit.managed:
                self.num_weight_views += 1
                return view
            if view is not None:
                return tensor
            if offload and not isinstance(tensor, nn.Parameter) and self.offloader.wants(tensor):
                return self.offloader.pack(key, tensor)
            return tensor

        def unpack(saved):
            if isinstance(saved, WeightView):
                base = self._weights_base(u)
                if base is None:
                    raise RuntimeError(f"mistpipe: block {u}'s weights were used after its backward")
                return rebuild(saved, base)
            if isinstance(saved, Saved):
                return self.offloader.unpack(saved)
            return saved
        return torch.autograd.graph.saved_tensors_hooks(pack, unpack)

    def _weights_base(self, u: int) -> torch.Tensor | None:
        unit = self.units[u]
        if not unit.managed:
            return unit.full
        index = self._weight_slot.get(u)
        return None if index is None else self.wslots.buffers[index]

    # ---- weights of managed units
    def _prefetch_weights(self, u: int) -> None:
        unit = self.units[u]
        if not unit.managed or u in self._weight_slot:
            return
        index, hit = self.wslots.acquire(u, writer="h2d")
        if not hit:
            self.wslots.ready[index] = unit.fill(self.wslots.buffers[index])
            self.num_fills += 1
        self._weight_slot[u] = index

    def _bind_weights(self, u: int) -> None:
        if not self.units[u].managed:
            return
        self._prefetch_weights(u)
        index = self._weight_slot[u]
        self.streams.wait(self.wslots.ready[index], "compute")
        self.units[u].bind(self.wslots.buffers[index])

    def _release_weights(self, u: int) -> None:
        if u in self._weight_slot:
            self.units[u].unbind()
            self.wslots.release(self._weight_slot.pop(u), keep=True)

    # ---- host gradient sections
    def _prefetch_staging(self, u: int) -> None:
        unit = self.units[u]
        if not unit.host_numel or u in self._grad_slot:
            return
        index, _ = self.gslots.acquire(("grad", u), writer="compute" if unit.fresh else "h2d")
        self._grad_slot[u] = (index, unit.begin_backward(self.gslots.buffers[index]))

    def _ensure_staging(self, u: int) -> None:
        self._prefetch_staging(u)
        if u in self._grad_slot:
            self.streams.wait(self._grad_slot[u][1], "compute")

    # ---- hook bodies
    def _forward_begin(self, u: int) -> None:
        self._run_deferred(u)  # only block 0 still waits here: _forward_end(u - 1) ran the others
        self.streams.wait(self._step_done.pop(u, None), "compute")
        self._bind_weights(u)
        if u + 1 < len(self.blocks) and u + 1 in self._pending:
            self._start_deferred(u + 1)  # queued before block u's kernels, so it runs beside them
        elif u + 1 < len(self.blocks):
            self._prefetch_weights(u + 1)

    def _forward_end(self, u: int) -> None:
        self.offloader.seal()
        self._release_weights(u)
        if u + 1 < len(self.blocks) and u + 1 in self._pending:
            self._run_deferred(u + 1)  # the host part, while block u still runs on the device
            self._prefetch_weights(u + 1)

    def _start_deferred(self, u: int) -> None:
        """Queue block u's deferred device update (AdamW over the device head) on the opt stream,
        when block u - 1's forward starts, before its kernels. Queued after them (the first
        version), it found block u - 1 already finished whenever the host launched kernels no
        faster than the device ran them: 0 us of overlap on 2x H200 (a 6-block stack under the
        profiler, test_mistpipe_gpu.py::test_deferred_block_steps_run_beside_the_next_forward)."""
        if u not in self._pending or u in self._started:
            return
        self._started.add(u)
        with self.streams.as_compute("opt"):
            self.streams.wait(self._prepared, "compute")
            self.optimizer.step_device(u)

    def _run_deferred(self, u: int) -> None:
        """Finish block u's deferred optimizer step on the opt stream (its host part, CPU Adam, on
        the host meanwhile; the device update first if not yet queued); the compute stream waits
        for it only when block u runs."""
        if u not in self._pending:
            return
        self._start_deferred(u)
        self._pending.discard(u)
        self._started.discard(u)
        with self.streams.as_compute("opt"):
            self._step_done[u] = self.optimizer.finish_unit(u)

    def backward_begin(self, u: int, pass_id: int) -> None:
        """Block u's backward (of forward pass `pass_id`) starts: make its inputs ready, prefetch
        block u - 1's weights and gradient section and the activations of the next offloaded block
        below u (fetched one block ahead, its copy had only block u's backward to hide behind:
        54% of activation copy time hidden on the last stage of gpt-1.3b PP2, 2x H200)."""
        self.offloader.retire()  # the blocks above have run all their nodes (ActivationOffloader.retire)
        self._bind_weights(u)
        self._ensure_staging(u)
        self.offloader.prefetch((pass_id, u))
        self._arrived[u], self._backward_pass[u] = 0, pass_id
        if u > 0:
            self._prefetch_weights(u - 1)
            self._prefetch_staging(u - 1)
        below = self._offloaded_below[u]
        if below is not None:  # the next offloaded block, however many kept blocks lie in between
            self.offloader.prefetch((pass_id, below))

    def _on_grad(self, u: int, i: int, param: nn.Parameter) -> None:
        if param.grad is None:  # a weight whose linear handed its gradient to the sink (_on_wgrad)
            return  # autograd still runs the hook, with no gradient
        self.units[u].accumulate(i, param.grad)
        param.grad = None
        self._arrive(u)

    def _sink_for(self, me, u: int, param: nn.Parameter):
        """The wgrad_sink of block u's weight `param` where the unit can fuse its gradient, else None:
        a weight reaching into the host section keeps autograd's linear, since a custom Function there
        would add only its Python cost to the same separate add (before this rule, S15-6's c16 plan ran
        0.8% slower fused than unfused; S16-1, after it: 0.3%, inside the runs' spread)."""
        index = next(i for i, p in enumerate(self.units[u].params) if p is param)
        return partial(_wgrad_sink, me, u, index) if self.units[u].fusable(index) else None

    def _on_wgrad(self, u: int, i: int, write) -> None:
        """Block u's parameter i's weight gradient, as its linear's backward hands it over (wgrad.py):
        added into the accumulation buffer, then counted like a gradient that arrived by its hook."""
        self.units[u].accumulate_with(i, write)
        self.num_fused_wgrads += 1
        self.num_fused_head_wgrads += u == len(self.blocks)
        self._arrive(u)

    def _arrive(self, u: int) -> None:
        """One more of unit u's parameter gradients has been accumulated; the block's backward ends
        with the last of them."""
        if u < len(self.blocks):
            self._arrived[u] += 1
            if self._arrived[u] == len(self.units[u].params):
                self._backward_end(u)

    def _backward_end(self, u: int) -> None:
        unit = self.units[u]
        if u in self._grad_slot:
            index, _ = self._grad_slot.pop(u)
            self.gslots.release(index, keep=False, last_use=unit.end_backward())
        else:
            unit.end_backward()
        self._release_weights(u)
        self.offloader.finish((self._backward_pass[u], u))

    # ---- engine-facing
    def begin_pass(self) -> None:
        """A new forward pass of the stage (one micro-batch) starts."""
        self.offloader.retire()  # the last backward has returned
        self.pass_id += 1

    def reduce_tied(self, tied) -> None:
        """All-reduce the accumulated gradients of pipeline-tied weights ((weight, group) pairs
        from PipelineModule.get_tied_weights_and_groups) over their tied groups."""
        for weight, group in tied:
            for unit in self.units:
                for param, (start, end) in zip(unit.params, unit.spans):
                    if param is weight:
                        unit.clear_reduced()
                        dist.all_reduce(unit.acc_dev[start:end], group=group)

    def reduce_gradients(self) -> None:
        """One reduction of every unit's accumulated gradients into the optimizer's shards."""
        for u, unit in enumerate(self.units):
            index = None
            if unit.host_numel:
                index, _ = self.gslots.acquire(("reduce", u), writer="h2d")
            staging = None if index is None else self.gslots.buffers[index]
            unit.reduce(staging, partial(self.optimizer.take_chunk, u))
            if index is not None:
                self.gslots.release(index, keep=False)

    def step(self) -> None:
        """The optimizer step. Eager: every unit now, the compute stream then waits for the new
        weights of resident units (managed ones order their next fill after their store events).
        Deferred: the global part (norm, clipping) and the non-block units now; each block's own
        update runs when the next forward reaches the block before it (`_forward_end`)."""
        if self._pending:
            raise RuntimeError(f"deferred optimizer steps of blocks {sorted(self._pending)} never ran")
        if self.wslots is not None:
            self.wslots.invalidate()
        if not self.defer_step:
            for unit, event in zip(self.units, self.optimizer.step()):
                if not unit.managed:
                    self.streams.wait(event, "compute")
            return
        self.optimizer.prepare()
        self._prepared = self.streams.record("compute")
        for u in range(len(self.blocks), len(self.units)):
            self.streams.wait(self.optimizer.step_unit(u), "compute")
        self._pending = set(range(len(self.blocks)))

    def _store(self, unit: FlatUnit, shard16: torch.Tensor):
        """Hand a unit its new 16-bit shard, lending a slot when the store needs an all-gather
        (the slot then holds the unit's fresh full weights for the next forward)."""
        needs_slot = unit.managed and unit.weight_world == 1 and self.env.opt_world > 1
        if not needs_slot:
            return unit.store_update(shard16, None)
        u = self.units.index(unit)
        index, _ = self.wslots.acquire(u, writer="compute")
        done = unit.store_update(shard16, self.wslots.buffers[index])
        self.wslots.ready[index] = done
        self.wslots.release(index, keep=True, last_use=done)
        return done

    def stats(self) -> dict:
        """Counters for tests and reports."""
        opt = self.optimizer.state_numel()
        return {"units": len(self.units), "managed_units": sum(u.managed for u in self.units),
                "unit_numel": sum(u.layout.numel for u in self.units),
                "stored_weight_numel_device": sum(
                    (u.store_dev.numel() if u.managed else u.full.numel()) for u in self.units),
                "stored_weight_numel_host": sum(u.store_host.numel() for u in self.units if u.managed),
                "grad_numel_host": sum(u.host_numel for u in self.units),
                "optimizer_numel_device": opt["device"], "optimizer_numel_host": opt["host"],
                "grad_numel_sent_to_host": self.optimizer.grad_numel_to_host,
                "weight_fills": self.num_fills, "weight_views_saved": self.num_weight_views,
                "fused_wgrads": self.num_fused_wgrads, "fused_head_wgrads": self.num_fused_head_wgrads,
                **self.offloader.stats(),
                "pinned_allocations": self.pool.num_allocations,
                "deferred_block_steps_pending": len(self._pending)}
