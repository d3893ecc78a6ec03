"""MistpipeStageCostModel: memory and time of one pipeline stage that mist_ds/runtime/mistpipe runs
(the model-state bytes of the list below are computed in cost/mistpipe_state.py).

The stage's own ZeRO stage z, offload ratios (ow weights, og gradients, oo optimizer states) and
activation-offloaded block count na are StageArgs' fields, as for stock DeepSpeed; what differs is
what the engine allocates and when it moves data. Sources are the engine's modules (package doc
runtime/mistpipe/__init__.py, "Memory semantics"), e = 2 bytes (bf16), N_b the parameters of one
block and N_r the stage's resident ones (embedding, final norm, LM head) on one TP rank:

* units (stage.py _build_units): every block is a unit, N_r one resident unit; the optimizer shards
  each unit over W = dp ranks when z >= 1, else W = 1 (engine.py UnitEnv.opt_world); padding to a
  multiple of W x 64 elements (layout.py unit_layout) is left out (< 1 KiB per unit);
* weights (unit.py FlatUnit): resident units and blocks without ZeRO-3 / weight offload hold e*N full;
  otherwise ("managed") a block stores its shard (1/dp with ZeRO-3, else all of it) with the last ow
  of it in pinned host memory, plus num_slots device slots of one block's full weights (stage.py
  StageRuntime.wslots);
* gradients (unit.py accumulate): a full-size accumulation buffer in the weight dtype per unit,
  its last og (blocks only) in pinned host memory, staged through num_slots device slots of one
  block's host section (StageRuntime.gslots); a fused linear (runtime/wgrad.py: block linears, and since
  session 58 the LM head, stage.py _fuse_head) adds its weight gradient into that buffer in its
  GEMM, the others make a fresh gradient first (_passing);
* optimizer (optimizer.py UnitShard, ShardedAdam): per shard element fp32 master + fp32 gradient +
  Adam m and v = 16 bytes; the last oo on the host, pinned (the gpu_swap path, swapadam.py: its
  host fp32 gradient only over host gradient sections, mistpipe_state.swap_grad_tails, so 12 bytes
  per element of a device gradient section; plus two device slots of master, gradient, m and v of
  up to swap_chunk_elements each; the cpu_adam path: DeepSpeedCPUAdam's pageable m and v and a
  16-bit staging copy, 18 bytes); two 16-bit staging buffers of the largest shard on the device,
  and, where tail gradients go to the host (host gradient sections, cpu_adam), optimizer.py's ring
  of two fp32 device buffers of the largest tail, at most swap_chunk_elements
  (mistpipe_state.EngineBuffers.ring). Each stage's path is the one
  mistpipe_step.optimizer_path picks for its offloaded share (the faster by offload_step_s), which the
  emitted ds_config carries to the engine (emit/ds_config.py mistpipe_section);
* activations: the stock terms (cost/memory.py activation_exprs: the na blocks' saved tensors are
  in host memory) plus the offloader's reload slabs — min(na, 2) device buffers of one block's
  offloaded saved bytes, the running offloaded block's reloads and the next one's prefetched
  (reload_pool.py ReloadPool, actoffload.py RELOAD_SLABS), allocated at the first backward and kept, so also at the
  step — and, before session 57 (_held), as every PipelineEngine stage that computes the loss, the logits
  of up to two earlier micro-batches (its two output buffers, activations.logits_bytes) even with one stage. In
  forward an offloaded block's own saved tensors sit beside the slabs until its forward ends, but
  the offloaded blocks run first in the stage's forward (stage.py _offloaded_blocks: the first na
  blocks after the recomputed ones), while the micro-batch's later saves do not exist yet: the
  train peak is the start of a backward, with k micro-batches' saves and the slabs; on the stage with
  the head a recomputed block's regenerated activations and this micro-batch's logits count once, at
  the larger (the head's backward frees the logits first; _states);
* transients at the step: a kept host tail is upcast to fp32 one swap chunk at a time for the norm
  (optimizer.py _add_kept_square; the device heads are squared in place); before session 57 the norm
  squared one unit's device shard into a temporary (pow(2)) and upcast a kept tail chunk whole
  (RunConditions.norm_in_pieces);
* start-up: the stage is built whole in 16 bits on the device (runtime/build.py build_mistpipe,
  pipeline.py) before the units copy, shard and offload it, and every unit keeps its 16-bit shard
  (unit.py initial_shard) until ShardedAdam has made the fp32 master and gradient heads; the peak is
  the largest of the forward/backward, step, optimizer-build and build phases (phase_bytes).

Time, per micro-batch (copies and collectives on side streams, streams.py): block gathers (the
fills of fills_per_iteration: a pass finds the previous pass's last num_slots blocks in the LRU
slots), their host parts (h2d), host gradient sections in and out, and activations out and back;
the accumulation add of every gradient (read 2e, write e per element) is compute-stream work. The
GPU's micro-batch is the longer of two bounds: (1) the channel totals run concurrently under Mist's
interference model (Rates.overlapped_s, MIST.md section 2): the link's bandwidth over the whole
micro-batch; (2) the per-block copy windows (mistpipe_windows.copy_window_walls) of the engine's prefetch order
(runtime/mistpipe/stage.py): a fill hides behind one block's pass (forward: _forward_begin
prefetches block u+1; backward: backward_begin prefetches block u-1 and its gradient section); an
offloaded block's activations come back behind the backward of the blocks between it and the next
offloaded block above (backward_begin: one offloaded block ahead; the top one behind the kept
blocks above it, or exposed when there are none); the activations' d2h is a queue that nothing
waits for (actoffload.py pack), started by the forward and left over into the backward, where it
slows the windows' h2d copies. Host: the profile's per-block-pass overhead overlaps the GPU per pass
(cost/host_overlap.py) and its per-micro-batch overhead adds in full, as the stock model.
Per iteration (schedule.py:
ReduceScatterGrads then ShardedOptimizerStep after the last backward, not overlapped): the first
fill after the step (the step invalidates the slots), one reduce-scatter (all-reduce for z = 0) per
unit, the host gradient sections copied in (unit.py reduce) beside the tails' early d2h (take_chunk),
at once under the interference model; then, serial (optimizer.py prepare: the host reads the norm
before any unit is updated), the fp32 upcast of every chunk (tails too: their squares are summed on
the device), the norm and the clip; then per unit (finish_unit) the device head's Adam and 16-bit
copy beside the oo share's update (offload_step_s of the stage's path: gpu_swap, whose loads and
stores share the link, mistpipe_step.swap_s, or cpu_adam); the 16-bit publication (an all-gather
per unit for z = 1/2, the ZeRO-3 store written in place) and the store's host copy (on the d2h stream
beside the update: mistpipe_step.offload_step_s write_back).
Measured step timelines against these terms: bench/engine/STEP_TIMELINE.md.
Host side, as the stock model (cost/stage.py, cost/host_memory.py): its per-step overhead on the
delta (fitted on stock runs), and host memory = the process base + the pinned buffers at their sizes
(runtime/mistpipe/hostmem.py; runs before session 13: rounded to powers of two, mistpipe_state.py
HOST_BUFFERS) + CPU Adam's pageable moments + the activation pool (one pinned buffer per offloaded
tensor).
The d2h queue: each offloaded tensor stays on the device until its copy to the host is done; the
offloader holds up to MistpipeConstants.d2h_queue_blocks blocks of them (allocated) and the compute
stream waits beyond that (actoffload.py), charged as min(na, that) x layer_saved at the forward/backward
peak (beside the reload slabs: conservative, the queue drains as the backward starts) and in time by
mistpipe_windows.py bounded_queue. Measured with a 2 GiB bound (about 3.4 blocks): +1.9 GB allocated,
bench/results/engine/README.md session 8. Not modelled: the host running ahead of the GPU (the windows take a
prefetch as issued when the GPU reaches it); the cross-stage synchronisation of the global gradient
norm (every stage's step waits for the slowest stage's reduction), as for stock pipelines; the
deferred step (off by default).
"""

from __future__ import annotations

import functools
from dataclasses import fields

import numpy as np
import sympy as sp

from mist_ds.config import ModelSpec
from mist_ds.config.executors import MISTPIPE
from mist_ds.cost.activations import (ATTENTION_SAVES, HELD_PIPE_LOGITS, fused_head_loss_bytes,
                                     pinned_activation_rounding)
from mist_ds.cost.compiled import COMPILED_CACHE_SIZE
from mist_ds.cost.conditions import RunConditions
from mist_ds.cost.kernel_set import KernelChoice
from mist_ds.cost.layer_time import fused_head_s
from mist_ds.cost.memory import ELEM, FP32, activation_exprs
from mist_ds.cost.shapes import vocab_shard
from mist_ds.config.hw_lookup import interference_slowdowns
from mist_ds.cost.groups import dp_spans_nodes
from mist_ds.cost.host_overlap import host_overlap
from mist_ds.cost.stage import StageCost, StageCostModel, per_pair
from mist_ds.cost.stage_args import StageArgs
from mist_ds.cost.rates import Rates
from mist_ds.cost.work import comm_exprs, tp_comm_s
from mist_ds.cost.mistpipe_step import priced_path
from mist_ds.cost.mistpipe_windows import copy_window_walls, overlapped
from mist_ds.cost.mistpipe_state import (EngineBuffers, fills_per_iteration, host_allocated_bytes, offloaded_share,
                                         phase_bytes, stage_sizes, state_bytes, written_back)


TAKE_CHUNK_BYTES = ELEM + 3 * FP32  # read the reduced 16-bit chunk, write fp32, scale in place (r+w)
NORM_CLIP_BYTES = 3 * FP32          # norm reads the fp32 gradient; clipping reads and writes it
PUBLISH_BYTES = FP32 + ELEM         # read the fp32 master, write the 16-bit shard
TAIL_NORM_BYTES = ELEM + 3 * FP32 + FP32  # a tail's take_chunk: upcast, scale (r+w), square-sum read


ACTIVATION_TERMS = ("activations", "cpu_activations", "offloaded_per_microbatch", "layer_saved", "logits", "recomputed")
TP_TERMS = ("tp_ar_count", "tp_ar_bytes", "tp_norm_ar_count", "tp_norm_ar_bytes")


@functools.lru_cache(maxsize=COMPILED_CACHE_SIZE)
def _compiled(model_json: str, seq_len: int, attention: str, kernels: KernelChoice):
    """The stock model's activation and TP-collective expressions (cost/memory.py activation_exprs,
    cost/work.py comm_exprs) that a mistpipe stage shares, compiled once per kernel set: (symbol
    names, function)."""
    model = ModelSpec.from_json_text(model_json)
    exprs = {**activation_exprs(model, seq_len, attention, kernels), **comm_exprs(model, seq_len)}
    chosen = [sp.sympify(exprs[name]) for name in ACTIVATION_TERMS + TP_TERMS]
    free = sorted({s for e in chosen for s in e.free_symbols}, key=lambda s: s.name)
    fn = sp.lambdify(free, chosen, modules=[{"minimum": np.minimum, "maximum": np.maximum}, "numpy"], cse=True)
    return tuple(s.name for s in free), fn


class MistpipeStageCostModel(StageCostModel):
    """StageCostModel's interface (evaluate(StageArgs) -> StageCost) for mistpipe stages: saved
    activations, logits and TP collectives from the stock model's expressions, the rest above."""

    def __init__(self, model: ModelSpec, hw, seq_len: int, dtype: str = "bf16", num_nodes: int = 1,
                 gpus_per_node: int = 1, attention: str = "sdpa", conditions: RunConditions | None = None):
        # the run's mistpipe conditions (cost/conditions.py; None: the engine's defaults)
        conditions = conditions or RunConditions()
        # a path forced on every stage (a run that recorded it); None: the rule
        self.optimizer_path = conditions.optimizer_path
        # block linears add their weight gradients in their GEMM (accumulate_s)
        self.fused_wgrad = conditions.fused_wgrad
        # where the gpu_swap path reads device-section gradients (mistpipe_step.offload_step_s)
        self.swap_gradients = conditions.swap_gradients
        # the engine's buffer layout (mistpipe_state.EngineBuffers: a run's records, or the engine's own)
        self.engine = EngineBuffers(conditions.host_buffers, conditions.swap_gradients, conditions.norm_in_pieces)
        # the last stage drops each micro-batch's logits after its backward (_held)
        self.releases_logits = conditions.releases_logits
        # the model's head (untied, or tied: the embedding matrix) adds its weight gradient in its GEMM (_passing)
        self.fused_head_wgrad = (conditions.fused_tied_head_wgrad if model.tie_embeddings
                                 else conditions.fused_head_wgrad)
        # the last stage computes the head and its loss in one chunked pass without the logits (_logits, _compute)
        self.fused_head_loss = conditions.fused_head_loss
        # the offloader's d2h bound in blocks (MistpipeConstants; 0: a run before it, allocator-held)
        self.queue_blocks = conditions.d2h_queue_blocks
        # StageCostModel's attributes without its compiled stock terms (this model compiles its own)
        self.kernels = KernelChoice.of(conditions.kernels)
        self.model, self.hw, self.seq_len, self.dtype = model, hw, seq_len, dtype
        self.num_nodes, self.gpus_per_node, self.attention = num_nodes, gpus_per_node, attention
        self.causal = True
        self.rates = Rates(hw, gpus_per_node)
        self._hw_json, self._model_json = hw.to_json(), model.to_json()
        self.allocator_fraction = hw.allocator_overhead_fraction
        # the d2h channel's slowdown beside compute and h2d (a background queue: copy_window_walls)
        self._d2h_slowdown = interference_slowdowns(hw, ("compute", "h2d", "d2h"))["d2h"]

    def evaluate(self, args: StageArgs) -> StageCost:
        a = args.arrays()
        sizes, t = self._sizes(a), self._shared_terms(a)
        memory = self._states(sizes, t, a)
        timing = self._mp_time(sizes, t, a)
        return StageCost(**memory, **timing, num_params=sizes["params"])

    def micro_batch_parts(self, args: StageArgs) -> dict[str, np.ndarray]:
        """The parts a stage's time is assembled from (_microbatch, _iteration, _mp_time), in seconds:
        per micro-batch the channel totals, the copy windows, the host's per-pass work and its exposed
        per-micro-batch work, and the step's stable and delta times; what bench/engine/mistpipe_compare.py
        sets beside a profiled step."""
        a = args.arrays()
        s, t = self._sizes(a), self._shared_terms(a)
        mb, it, timing = self._microbatch(s, t, a), self._iteration(s, a), self._mp_time(s, t, a)
        host_forward, host_backward = self._host_passes(s, a)
        return {**{f"mb_{k}": v for k, v in mb.items()}, **{f"step_{k}": v for k, v in it.items()},
                **timing, "host_forward": host_forward, "host_backward": host_backward,
                "host_microbatch_exposed": self._microbatch_host(a)[1]}

    def memory(self, args: StageArgs) -> tuple[np.ndarray, np.ndarray]:
        """(peak_memory_bytes, cpu_memory_bytes) of evaluate(args) without its time terms: the copy
        windows (mistpipe_windows.py) are most of evaluate's work, and the search's memory screening
        reads only these two."""
        a = args.arrays()
        memory = self._states(self._sizes(a), self._shared_terms(a), a)
        return memory["peak_memory_bytes"], memory["cpu_memory_bytes"]

    def state_floor(self, args: StageArgs) -> tuple[np.ndarray, np.ndarray]:
        """(device, host) bytes no recompute or activation-offload choice goes below: the largest
        phase without activations (with the allocator allowance; the forward/backward phase only adds
        activations and logits) and the offloaded states on the host."""
        a = args.arrays()
        s = stage_sizes(self.model, a)
        p = state_bytes(a, s, self.swaps(a, s), self.engine)
        phases = phase_bytes(p)
        device = np.maximum.reduce([phases["step"], phases["init"], phases["build"]]) * (1 + self.allocator_fraction)
        return device, p["host_weights"] + p["host_gradients"] + p["host_optimizer"]

    def _shared_terms(self, a) -> dict[str, np.ndarray]:
        names, fn = _compiled(self._model_json, self.seq_len, ATTENTION_SAVES[self.attention], self.kernels)
        values = {"b": a["micro_batch"], "L": a["num_layers"], "tp": a["tp"], "r": a["num_recompute"],
                  "k": a["num_inflight"], "na": a["num_offloaded"], "E": a["has_embedding"],
                  "HD": a["has_head"], "PP": (a["num_stages"] > 1).astype(float),
                  "RP": (a["num_recompute"] > 0).astype(float),
                  "VS": vocab_shard(self.model, a["tp"].astype(int)).astype(float)}
        out = fn(*[values[n] for n in names])
        shape = a["num_layers"].shape
        return {n: np.broadcast_to(np.asarray(v, float), shape)
                for n, v in zip(ACTIVATION_TERMS + TP_TERMS, out)}

    def _sizes(self, a) -> dict[str, np.ndarray]:
        s = stage_sizes(self.model, a)
        self.swaps(a, s)
        return s

    def swaps(self, a, s) -> np.ndarray:
        """True where the stage's offloaded optimizer share takes the gpu_swap path, False where
        cpu_adam (mistpipe_step.optimizer_path on this model's rates, or the forced path)."""
        if "swap" not in s:  # kept in the stage_sizes dict with the chosen path's (step, early d2h)
            s["swap"], s["offload_step"], s["offload_early"] = priced_path(
                self.rates, *offloaded_share(a, s), forced=self.optimizer_path, swap_gradients=self.swap_gradients,
                write_back=written_back(a, s))
        return s["swap"]

    def state_parts(self, args: StageArgs, a=None, s=None) -> dict[str, np.ndarray]:
        """Bytes of what the engine allocates for the stage's model states, per kind (device and
        host): the module docstring's list, before activations and transients."""
        a = args.arrays() if a is None else a
        s = stage_sizes(self.model, a) if s is None else s
        return state_bytes(a, s, self.swaps(a, s), self.engine)

    def _states(self, s, t, a) -> dict[str, np.ndarray]:
        """Device bytes at the peak of the forward/backward, step, optimizer-build and build phases
        (with the allocator allowance), and the host bytes (module doc)."""
        p = self.state_parts(None, a, s)
        phases = phase_bytes(p)
        slots = p["weight_slots"] + p["gradient_slots"] + p["staging"] + p["swap_slots"] + p["d2h_ring"]
        logits = self._logits(t, s, a)
        reload_slabs = float(MISTPIPE.constants.num_reload_slabs)  # module doc
        slabs = np.minimum(a["num_offloaded"], reload_slabs) * t["layer_saved"]
        # the d2h queue's sources, held by the offloader until their copies are done (module doc)
        queue = np.minimum(a["num_offloaded"], float(self.queue_blocks)) * t["layer_saved"]
        activations = t["activations"] + slabs + queue
        passing = self._passing(s, t, a, logits)
        peaks = np.stack([phases["train"] + activations + passing, phases["step"] + slabs, phases["init"],
                          phases["build"]])
        raw = peaks.max(axis=0)
        phase = peaks.argmax(axis=0)  # 0 train, 1 step, 2 init, 3 build
        allowance = raw * self.allocator_fraction
        pick = lambda *values: np.choose(phase, [np.broadcast_to(v, raw.shape) for v in values])  # noqa: E731
        cpu = (self.hw.host_process_base_bytes
               + host_allocated_bytes(a, s, self.swaps(a, s), self.engine)
               + self._activation_pool(t, a))
        return {"peak_memory_bytes": raw + allowance,
                "weights_bytes": pick(p["weights"], p["weights"], p["weights"], p["build"]),
                "gradients_bytes": pick(p["gradients"], p["gradients"], p["gradients"], 0.0),
                "optimizer_states_bytes": pick(p["optimizer"], p["optimizer"], p["init_optimizer"], 0.0),
                "activations_bytes": pick(activations, slabs, 0.0, 0.0),
                "buffers_bytes": pick(slots + passing, slots + p["step_transient"], slots, 0.0) + allowance,
                "cpu_memory_bytes": cpu}

    def _passing(self, s, t, a, logits) -> np.ndarray:
        """What the train peak adds to the saved activations: the forward's end (its logits and the held
        ones) or the head's backward, its logits holding their gradient, the other held set and one fresh
        parameter gradient. A recomputed block's regenerated activations (t["recomputed"], inside
        t["activations"]) exist only once the head's backward has consumed this micro-batch's logits, so
        the two count once, at the larger, as cost/stage.py prices the stock engine (the held sets stay):
        S33-4, Llama 3.2 3B at seq 8192, mb 1, 25 of 28 recomputed, allocated 1.02 GiB under the sum
        (bench/results/runtime/retries_S33/README.md). A head whose weight gradient goes into the resident
        unit's buffer in its GEMM (RunConditions.fused_head_wgrad, fused_tied_head_wgrad; runtime/mistpipe/
        stage.py _fuse_head) makes no fresh gradient: its stage's peak is the head's backward or, the logits
        freed, a block's backward with its largest fresh gradient (a recomputed block's final linear,
        wgrad.py). A tied matrix's F.embedding gradient comes at the end of the backward, activations freed."""
        one_set = self._one_set(s, a)
        regenerated = np.minimum(one_set, t["recomputed"])
        passing = logits + np.maximum(ELEM * s["largest"] - one_set * (self._held(a) > 1), 0.0) - regenerated
        if not self.fused_head_wgrad:
            return passing
        sunk = np.maximum(logits - regenerated, ELEM * s["largest_block"])
        return np.where(a["has_head"] > 0, sunk, passing)

    def _held(self, a) -> np.ndarray:
        """Sets of earlier micro-batches' logits the PipelineEngine holds at the end of a forward: none
        since session 57 (runtime/mistpipe/engine.py _exec_backward_pass drops each after its backward, and
        the last stage's 1F1B runs each micro-batch's backward right after its forward). Before
        (RunConditions.releases_logits False; activations.logits_bytes: two output buffers, whatever the
        stage count): one per buffer the step's micro-batches use, at most HELD_PIPE_LOGITS. The buffers
        outlive the step (deepspeed/runtime/pipe/engine.py _reserve_pipe_buffers only adds slots, and
        nothing cleared 'outputs' on the last stage), so in the timed steps a step's first forward meets
        the previous step's sets: with two micro-batches both buffers hold one. S35-4: Qwen2-7B, mb 8,
        ga 2, three 4.64 GiB logits sets live at the allocated peak (bench/results/runtime/logits_held_S35/)."""
        held = np.minimum(a["grad_accum"], float(HELD_PIPE_LOGITS))
        return np.zeros_like(held) if self.releases_logits or self.fused_head_loss else held

    def _logits(self, t, s, a) -> np.ndarray:
        """The loss's working set and the held logits (_held) on a stage with the head: the stock
        term (activations.logits_bytes) prices HELD_PIPE_LOGITS held sets with more than one stage.
        A fused head loss holds its working set instead (_fused_working)."""
        if self.fused_head_loss:
            return self._fused_working(s, a)
        return t["logits"] + (self._held(a) - HELD_PIPE_LOGITS * s["pp"]) * self._one_set(s, a)

    def _one_set(self, s, a) -> np.ndarray:
        """One micro-batch's 16-bit logits on a stage with the head (this TP rank's vocabulary rows); with a
        fused head loss what stands for them, its working set (_passing counts it against regenerated blocks)."""
        if self.fused_head_loss:
            return self._fused_working(s, a)
        return a["has_head"] * ELEM * s["rows"] * a["micro_batch"] * self.seq_len

    def _fused_working(self, s, a) -> np.ndarray:
        """The fused head loss's working set on a stage with the head (activations.fused_head_loss_bytes, on the
        path the stage's TP degree takes: Liger's kernel where the loss is 'liger'), and without the head's
        gradient sink (fused_head_wgrad off) the fresh vocabulary x hidden weight gradient its forward makes."""
        tokens = a["micro_batch"] * self.seq_len
        liger = np.vectorize(lambda tp: self.kernels.at(int(tp)).loss == "liger")(a["tp"])
        working = np.where(liger, fused_head_loss_bytes(tokens, s["rows"], self.model.hidden_size, "liger", ELEM),
                           fused_head_loss_bytes(tokens, s["rows"], self.model.hidden_size, "chunked", ELEM))
        fresh = 0.0 if self.fused_head_wgrad else ELEM * s["rows"] * self.model.hidden_size
        return a["has_head"] * (working + fresh)

    def _compute(self, b, tp) -> np.ndarray:
        """StageCostModel._compute, its head column priced fused (layer_time.fused_head_s) with a fused head loss."""
        table = super()._compute(b, tp)
        if not self.fused_head_loss:
            return table
        table = table.copy()
        table[..., 2] = per_pair(b, tp, lambda mb, t: fused_head_s(self.hw, self.model, mb * self.seq_len, t,
                                                                    self.kernels.at(t)))
        return table

    def _activation_pool(self, t, a) -> np.ndarray:
        """Pinned bytes of the offloaded blocks' activations: actoffload.py copies each saved tensor
        of at least min_offload_numel elements once (not the weights) into its own PinnedPool buffer,
        exact or rounded up to a power of two (activations.pinned_call_bytes, dedupe=True)."""
        if not np.any(t["cpu_activations"] > 0):
            return t["cpu_activations"]
        return t["cpu_activations"] * pinned_activation_rounding(
            self.model, self.seq_len, ATTENTION_SAVES[self.attention], a["micro_batch"], a["tp"],
            lambda t: self.kernels.at(t).activation, dedupe=True, min_numel=MISTPIPE.constants.min_offload_numel,
            rounded=not self.engine.exact, rope_kernel=lambda t: self.kernels.at(t).rope)

    def _collective(self, kind, nbytes, a):
        """One DP collective of `nbytes` over the stage's dp ranks (inter-node when dp x tp spans nodes)."""
        inter = dp_spans_nodes(a["dp"], a["tp"], self.gpus_per_node, self.num_nodes)
        return self.rates.collective_s(kind, nbytes, a["dp"], inter)

    def _microbatch(self, s, t, a) -> dict[str, np.ndarray]:
        """Channel totals of one micro-batch (compute, nccl, h2d, d2h), the per-block copy windows'
        forward and backward walls (copy_window_walls), the TP collectives and the per-iteration first fill."""
        rt = self.rates
        times = self._compute(a["micro_batch"], a["tp"])
        block_f, block_b, head, embedding = (times[..., i] for i in range(4))
        layers, block, g = s["layers"], s["block"], a["grad_accum"]
        ow, og = a["offload_weights"], a["offload_gradients"]
        accumulate = accumulate_s(rt, s, og, self.fused_wgrad)  # per block's backward
        refused = accumulate_s(rt, s, og, self.fused_wgrad, recomputed=True) - accumulate
        resident_acc = rt.copy_s(3 * ELEM * s["resident"])
        compute = (layers * (block_f + block_b + accumulate) + a["num_recompute"] * refused
                   + a["has_head"] * head
                   + a["has_embedding"] * embedding + resident_acc)
        steady, extra = fills_per_iteration(layers, g, a["num_inflight"])
        fills = np.where(s["managed"], steady + extra / g, 0.0)
        stored = block / s["weight_world"]
        gather = np.where(s["weight_world"] > 1, self._collective("all_gather", ELEM * block, a), 0.0)
        fill_h2d = np.where(s["managed"], rt.h2d_s(ELEM * stored * ow)
                            + rt.copy_s(2 * ELEM * stored * (1 - ow)), 0.0)
        section = ELEM * og * block
        act = np.where(t["offloaded_per_microbatch"] > 0, t["layer_saved"], 0.0)  # one block's saves
        copies = {"fill": fill_h2d, "gather": np.where(s["managed"], gather, 0.0),
                  "section_in": rt.h2d_s(section) * (g - 1) / g, "act_in": rt.h2d_s(act),
                  "act_out": a["num_offloaded"] * rt.d2h_s(act), "section_out": layers * rt.d2h_s(section)}
        h2d = fills * fill_h2d + layers * copies["section_in"] + a["num_offloaded"] * copies["act_in"]
        last_offloaded = (a["num_offloaded"] > 0) & (a["num_recompute"] + a["num_offloaded"] >= layers)
        forward_wall, backward_wall = copy_window_walls(
            self.rates, self._d2h_slowdown, a, layers, (block_f, block_b + accumulate),
            (a["has_head"] * head, a["has_embedding"] * embedding), copies, self.queue_blocks)
        return {"compute": compute, "recompute": a["num_recompute"] * block_f, "nccl": fills * gather,
                "h2d": h2d, "d2h": copies["act_out"] + copies["section_out"],
                "exposed": np.where(last_offloaded, copies["act_in"], 0.0),
                "tp": tp_comm_s(rt, t, a["tp"]),
                "forward_wall": forward_wall, "backward_wall": backward_wall + resident_acc,
                "first_fill": np.where(s["managed"], rt.h2d_s(ELEM * stored * ow) + gather, 0.0),
                "first_fill_comm": gather}

    def _iteration(self, s, a) -> dict[str, np.ndarray]:
        """Per-iteration work after the last backward (schedule.py), split by kind."""
        rt = self.rates
        layers, block, resident = s["layers"], s["block"], s["resident"]
        og, oo = a["offload_gradients"], a["offload_optimizer"]
        sharded = s["opt_world"] > 1
        kind_bytes = [ELEM * block, ELEM * resident]
        reduce = sum(count * np.where(sharded, self._collective("reduce_scatter", nbytes, a),
                                      self._collective("all_reduce", nbytes, a))
                     for count, nbytes in zip((layers, 1.0), kind_bytes))
        publish = np.where(sharded, layers * np.where(a["zero_stage"] == 3, 0.0,
                                                      self._collective("all_gather", ELEM * block, a))
                           + self._collective("all_gather", ELEM * resident, a), 0.0)
        shard = (layers * block + resident) / s["opt_world"]
        device, offloaded = shard * (1 - oo), shard * oo
        self.swaps(a, s)
        step, early = s["offload_step"], s["offload_early"]  # the stage's path (swaps)
        # unit.py reduce copies each host gradient section in (h2d stream) while take_chunk sends
        # the tails out (d2h stream): both before the norm, at once (Mist's interference)
        sections_in = layers * rt.h2d_s(ELEM * og * block)
        # (the streamed blocks' stores to host memory are in `step`: mistpipe_step.offload_step_s write_back)
        host_copies = overlapped(rt, 0.0, 0.0, sections_in, early)
        # optimizer.py: take_chunk upcasts every chunk (tails too: their squares are summed on the
        # device) and prepare() runs the norm, waits for it on the host (float) and clips before
        # any unit is updated: serial; then per unit the device head's AdamW and the publication
        # copy beside the offloaded share's update (finish_unit)
        before = rt.copy_s((TAKE_CHUNK_BYTES + NORM_CLIP_BYTES) * device + TAIL_NORM_BYTES * offloaded)
        gpu = rt.gpu_adam_s(device) + rt.copy_s(PUBLISH_BYTES * device)
        return {"reduce": reduce, "publish": publish, "host_copies": host_copies,
                "optimizer": before + np.maximum(gpu, step)}

    def _host_passes(self, s, a) -> tuple[np.ndarray, np.ndarray]:
        """The host's work of one micro-batch's forward and backward (recomputed forwards included): the
        engine's per-block-pass overhead x its (2L + r) block passes, L of them in the forward
        (cost/stage_time.py host_parts): HardwareProfile.mistpipe_layer_s (the stock term where no mistpipe
        run calibrated the engine's own), plus mistpipe_streamed_layer_overhead_s where the blocks' weights
        stream from host memory; a single-stage plan's forward also carries the engine's per-micro-batch
        work (_microbatch_host)."""
        streamed = np.where(s["managed"] & (a["offload_weights"] > 0), self.hw.mistpipe_streamed_layer_overhead_s, 0.0)
        per_pass = self.hw.mistpipe_layer_s + streamed
        hidden, _ = self._microbatch_host(a)
        return s["layers"] * per_pass + hidden, (s["layers"] + a["num_recompute"]) * per_pass

    def _microbatch_host(self, a) -> tuple[np.ndarray, np.ndarray]:
        """(hidden, exposed) parts of the engine's per-micro-batch host work (mistpipe_microbatch_s). A
        single-stage engine's micro-batch loop never waits on the GPU: its only host waits are the optimizer
        step's (runtime/mistpipe/optimizer.py host_wait), the loss is Liger's kernels without their host
        syncs (runtime/liger_loss.py) and the micro-batches are on the device before the step
        (runtime/trainer.py), so the work queues ahead like the passes' and shows only where the host falls
        behind. With pipeline stages, PipelineEngine exchanges activations and gradients by blocking p2p
        every micro-batch (deepspeed/runtime/pipe/p2p.py), which drains the queue: the work shows in full,
        as stock DeepSpeed's does (cost/host_overlap.py)."""
        per_mb = np.asarray(self.hw.mistpipe_microbatch_s, float)
        piped = np.asarray(a["num_stages"]) > 1
        return np.where(piped, 0.0, per_mb), np.where(piped, per_mb, 0.0)

    def _mp_time(self, s, t, a) -> dict[str, np.ndarray]:
        """Stable and delta times with their breakdown (they sum to G x stable + delta). The GPU's
        micro-batch is the longer of the per-block copy windows (copy_window_walls: where a copy has less to
        hide behind than the whole micro-batch) and the channel totals run at once (Rates
        .overlapped_s, Mist's interference: the link's bandwidth over the micro-batch), plus the TP
        collectives; the host's work overlaps it per pass (cost/host_overlap.py, _host_passes)."""
        g, hw = a["grad_accum"], self.hw
        mb, it = self._microbatch(s, t, a), self._iteration(s, a)
        busy = mb["compute"] + mb["recompute"]
        moved = mb["nccl"] + mb["h2d"] + mb["d2h"]
        channels = overlapped(self.rates, busy, mb["nccl"], mb["h2d"], mb["d2h"]) + mb["exposed"]
        windows = mb["forward_wall"] + mb["backward_wall"]
        gpu = np.maximum(channels, windows) + mb["tp"]
        extra = np.maximum(gpu - mb["tp"] - busy, 0.0)  # >= 0 (channels >= busy); no float noise below
        share_dp = np.where(moved > 0, mb["nccl"] / np.maximum(moved, 1e-30), 0.0)
        share = np.where(windows > 0, mb["forward_wall"] / np.maximum(windows, 1e-30), 1.0 / 3.0)
        # the host's per-pass work (_host_passes) overlaps the GPU's per pass; so does its per-micro-batch
        # work, unless blocking p2p exposes it (_microbatch_host)
        host_f, host_b = self._host_passes(s, a)
        stable = host_overlap(gpu * share, gpu * (1 - share), host_f, host_b) + self._microbatch_host(a)[1]
        host = stable - gpu  # host time the GPU waits for
        delta = (mb["first_fill"] + it["reduce"] + it["publish"] + it["host_copies"] + it["optimizer"]
                 + hw.host_step_overhead_s)
        fill_comm = mb["first_fill_comm"] * (mb["first_fill"] > 0)
        return {
            "stable_time_s": stable, "forward_time_s": stable * share, "delta_time_s": delta,
            "compute_s": g * (mb["compute"] + host), "recompute_s": g * mb["recompute"],
            "tp_comm_s": g * mb["tp"],
            "dp_comm_s": g * extra * share_dp + it["reduce"] + it["publish"] + fill_comm,
            "offload_s": g * extra * (1 - share_dp) + it["host_copies"] + mb["first_fill"] - fill_comm,
            "optimizer_s": it["optimizer"] + hw.host_step_overhead_s,
            "host_wait_s": g * host + hw.host_step_overhead_s,
        }


def accumulate_s(rt: Rates, s, og, fused: bool, recomputed: bool = False):
    """Time one block's backward spends adding its weight gradients into the unit's accumulation
    buffer. Unfused (unit.py accumulate): a separate add per parameter, reading the fresh gradient
    and the buffer and writing the buffer, 3 e bytes per element. Fused (runtime/wgrad.py,
    MistpipeConstants.fused_wgrad, the engine's default since session 14): a linear weight wholly in the
    device gradient section is written by its weight-gradient GEMM with beta = 1 (torch.addmm_,
    cuBLAS C = alpha op(A) op(B) + beta C), whose epilogue reads C once more, e bytes per element,
    and its write replaces the GEMM's own; the rest (norms, biases, weights reaching into the host
    section) is still added separately. The device section is the unit's first (1 - og) of its
    elements (runtime/mistpipe/layout.py unit_layout: the host section is the tail; its rounding to
    whole granules of world x align_elements is left out), and a linear weight is fused where its end
    (mistpipe_state.linear_spans) lies inside it (unit.py FlatUnit.fusable). Measured (S14-1, 1x
    H200, bench/results/engine/fused_wgrad_S14/), fused against unfused: llama-2.7b c24 3.074 vs
    3.123 s/iter, 49 ms saved, 42 ms predicted; gpt-1.3b b12 0.601 vs 0.602, 1 ms saved (about
    the runs' spread), 5 ms predicted. A `recomputed` block's final linear (the MLP's down
    projection) is not fused (wgrad.py fuse_weight_gradients: a sink there would re-run its GEMM in
    the recomputation)."""
    spans = s["linear_spans"][:-1] if recomputed else s["linear_spans"]
    device = (1 - np.asarray(og, float)) * s["block"]
    fused_elems = sum(numel * (end <= device) for end, numel in spans) if fused else 0.0
    return rt.copy_s(3 * ELEM * (s["block"] - fused_elems) + ELEM * fused_elems)


def cost_model_for(executor: str, model, hw, seq_len: int, dtype: str = "bf16", num_nodes: int = 1,
                   gpus_per_node: int = 1, attention: str = "sdpa",
                   conditions: RunConditions | None = None) -> StageCostModel:
    """The stage cost model of an executor (config/executors.py): mistpipe's, else stock DeepSpeed's,
    under `conditions` (cost/conditions.py; None: the runtime's); each model reads the fields of its
    executor."""
    cls = MistpipeStageCostModel if executor == "mistpipe" else StageCostModel
    return cls(model, hw, seq_len, dtype, num_nodes, gpus_per_node, attention=attention, conditions=conditions)


def memory_by_executor(stock: StageCostModel, mistpipe: MistpipeStageCostModel, args: StageArgs,
                       is_mistpipe) -> tuple[np.ndarray, np.ndarray]:
    """(peak_memory_bytes, cpu_memory_bytes) of evaluate_by_executor, from each model's memory()."""
    return _by_executor(stock.memory, mistpipe.memory, args, is_mistpipe,
                        lambda pair: dict(enumerate(pair)), lambda merged: (merged[0], merged[1]))


def evaluate_by_executor(stock: StageCostModel, mistpipe: MistpipeStageCostModel, args: StageArgs,
                         is_mistpipe) -> StageCost:
    """One StageCost over rows of both executors: `is_mistpipe` (a boolean array of the broadcast
    shape) picks mistpipe's model per row, stock DeepSpeed's elsewhere."""
    return _by_executor(stock.evaluate, mistpipe.evaluate, args, is_mistpipe,
                        lambda cost: {f.name: getattr(cost, f.name) for f in fields(StageCost)},
                        lambda merged: StageCost(**merged))


def _by_executor(stock_call, mistpipe_call, args: StageArgs, is_mistpipe, to_dict, from_dict):
    """stock_call on the rows `is_mistpipe` leaves to stock DeepSpeed, mistpipe_call on the others, their
    results (to_dict: name -> array per row) merged row by row into one (from_dict); one call when every
    row is one executor's."""
    mask = np.asarray(is_mistpipe, bool)
    if not mask.any():
        return stock_call(args)
    if mask.all():
        return mistpipe_call(args)
    arrays = args.arrays()
    mask = np.broadcast_to(mask, next(iter(arrays.values())).shape)
    parts = [(to_dict(call(StageArgs(**{k: v[rows] for k, v in arrays.items()}))), rows)
             for call, rows in ((stock_call, ~mask), (mistpipe_call, mask))]
    merged = {}
    for name in parts[0][0]:
        out = np.empty(mask.shape)
        for values, rows in parts:
            out[rows] = np.broadcast_to(values[name], (int(rows.sum()),))
        merged[name] = out
    return from_dict(merged)
