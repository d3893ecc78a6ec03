"""mistpipe: DeepSpeed's pipeline engine with a per-stage memory strategy (issue 13).

Entry point
-----------
    engine = build_mistpipe_engine(module, stage_memory, ds_config)
    loss = engine.train_batch(data_iter)            # as with DeepSpeed's PipelineEngine

`module` is the PipelineModule of this rank's stage (MistPipelineModule), built in the ds_config's
precision on this rank's device (blocks built with the 'offload' role run without their
synchronous save_on_cpu: `stage_memory` decides); `stage_memory` is this rank's stage entry
(`StageMemory.from_plan(plan, stage_id)`: the plan's `stage_memory(i)` and the stage's
`num_offloaded_layers`); `ds_config` is the one `emit.ds_config.build_ds_config` writes for a
`mistpipe` plan (batch sizes and gradient accumulation go to DeepSpeed; optimizer,
gradient_clipping, bf16 and data_types are read here; there is no zero_optimization section).
It replaces `deepspeed.initialize` for plans whose executor is `mistpipe` (runtime/build.py);
`deepspeed --hostfile ... launch/train.py --plan plan.json` stays the way to run them.

Plans
-----
The executor is data (config/executors.py MISTPIPE: per-stage memory, any ZeRO stage and offload
ratio, bf16 only); its cost model is cost/mistpipe.py (what this package allocates and moves, the
"Memory semantics" below); the search gives every stage of a mistpipe layout its own setting from the
executor's grids (search/space.py layout_settings, search/partition.py StageOptions.setting), and
emit/ds_config.py writes the config this engine reads, labelled.

Why not stock DeepSpeed
-----------------------
- `PipelineEngine.__init__` (deepspeed/runtime/pipe/engine.py, 0.19.8 lines 76-77) asserts
  `self.zero_optimization_stage() < ZeroStageEnum.gradients` ("ZeRO-2 and ZeRO-3 are incompatible
  with pipeline parallelism"): no gradient or weight sharding inside a pipeline.
- One DeepSpeed engine has one ZeRO/offload setting; a plan wants one per stage.
- A fractional `offload_optimizer.ratio` is accepted only with ZeRO-3 (runtime/zero/config.py,
  `offload_ratio_check`: "Partial offloading only supported for ZeRO Stage 3"), weight offload
  (`offload_param`) has no ratio at all, and gradients are offloaded only with the optimizer.
- `cpu_checkpointing` offloads all checkpointed activations; torch's `save_on_cpu` copies on the
  compute stream. Neither offloads chosen non-recomputed blocks with overlapped copies.

What is whose
-------------
DeepSpeed's: the PipelineEngine itself (1F1B `TrainSchedule` as data, micro-batch loading, p2p
activation/gradient exchange, forward/backward instructions, loss aggregation), PipelineModule and
its grid and tied-weight groups, DeepSpeedConfig, `DeepSpeedCPUAdam` for host-side Adam, and the
gradient-norm/clipping rule of its ZeRO optimizer (zero/stage_1_and_2.py). torch's: fused AdamW on
the device (the same update as DeepSpeed's FusedAdam without a JIT build), collectives, saved-tensor
hooks, streams and events. Ours (engine.py, stage.py, unit.py, optimizer.py, actoffload.py,
actpool.py, weightview.py, streams.py, layout.py): the model call and backward without a DeepSpeed
optimizer wrapper; flat per-block units with gradient accumulation through post-accumulate-grad
hooks; one reduce-scatter per iteration; the sharded fp32 optimizer with a host/device split;
gathered (ZeRO-3-like) and host-stored block weights with prefetch; host gradient sections;
overlapped activation offload into reused device slabs (actoffload.py says why DeepSpeed's
activation offload engine is not it).

Memory semantics (what a cost model should charge, per stage and rank)
----------------------------------------------------------------------
Units: every block of the stage is a unit; the stage's other parameters (embedding, final norm,
head) are one resident unit (never weight- or gradient-offloaded, never ZeRO-3-sharded). Each
unit's flat space is padded to a multiple of dp x 64 elements.
- Gradients: a full-size accumulation buffer in the weight dtype (or data_types.grad_accum_dtype),
  persistent; its last `offload_gradients_ratio` (blocks only) lives in pinned host memory and is
  staged through one of 3 device slots (largest block section) around each backward of the block.
  Reduced once per iteration, after the last micro-batch (reduce-scatter if ZeRO >= 1, all-reduce
  if ZeRO-0), into an fp32 gradient shard (1/dp of the unit, or all of it with ZeRO-0). The linears of
  the blocks and the LM head (tied or not) add their weight gradients into it in their GEMM
  (runtime/wgrad.py; stage.py _fuse_head); the fresh weight gradients left are each recomputed
  block's final linear's, those of weights reaching into a host section, and the embedding's own.
- Optimizer: fp32 master + Adam m + v + fp32 gradient for the shard (16 B/element); its last
  `offload_optimizer_ratio` lives on the host and is updated by CPU Adam. ZeRO-1 and ZeRO-2 are the
  same code here (the only difference in DeepSpeed, when gradients are reduced, is fixed to "once").
- Weights: resident units and blocks without ZeRO-3/weight offload keep full weights on the device.
  Otherwise a block stores its 1/dp shard (ZeRO-3) or all of it, with `offload_weights_ratio` of
  that store in pinned host memory, plus 3 device slots of the largest block's full weights (the
  block in use, the prefetched next one, one cached).
- Activations: blocks `[recompute, recompute + num_offloaded_layers)` keep saved
  tensors (>= 1024 elements; a byte span saved by several ops once) in pinned host buffers from a
  pool that stops growing after the first iteration. On the device: the running block's own saved
  tensors until its forward ends, then the sources of copies to the host still in flight, at most
  d2h_queue_blocks (4) blocks' worth (the compute stream waits beyond that; cost/mistpipe.py charges
  min(na, 4) x layer_saved); from the first backward on, min(na, 2) reload slabs of one block's copies,
  never freed: the running offloaded block's reloads and those of the next offloaded block below
  it, fetched when the backward of any block above that one starts (as cost/mistpipe.py charges:
  min(na, 2) x layer_saved, at the backward's start and at the step; reload_pool.py ReloadPool).
- Transient at the step: a fp32 copy of each offloaded gradient chunk, two 16-bit shard buffers.

Overlap
-------
Copies run on an h2d and a d2h stream (activation offload on a pair of its own), collectives
(weight all-gathers, gradient reduce-scatters) on a comm stream, all ordered against compute only
through events (streams.py); off CUDA the same calls run synchronously, which is how the CPU tests
execute this code. Prefetch: block i+1's weights when block i's forward starts; block i-1's weights
and host gradient section when block i's backward starts, and the offloaded activations of the
next offloaded block below i (at most one such block ahead of the running one).

Optimizer path for the offloaded fraction, per stage: `optimizer_offload_path='gpu_swap'` (Mist:
fp32 master, m and v streamed through two device slots and updated by fused AdamW with the gradient
read where the reduction left it, the clip applied on the device; 12 B/element in, 12 out, plus 4 B
each way for elements of host gradient sections) or `'cpu_adam'` (DeepSpeedCPUAdam on the host;
6 B/element over PCIe, the gradient clipped on the device before its d2h). Measured on gpt-1.3b PP2
with half the optimizer offloaded (2x H200, 32-core host, bench/results/engine/s4_offload): 0.682 vs
0.765 s/iter, both still with the host norm and clip removed since; reading the gradients on the
device instead of through the host: 1.10-1.14x per iteration on the 1-GPU node's plans
(bench/results/engine/swap_grads_S12). cost/mistpipe_step.py offload_step_s prices both paths (on
the shipped profiles the swap is now the faster at every share; its two device slots cost up to
512 MiB). Unless the engine is given a path, each stage runs the one
the cost model picked for it (mistpipe_step.optimizer_path: the faster for the stage's share),
which the plan's ds_config carries (mistpipe section, `optimizer_offload_path` with a one-line
`optimizer_offload_why`; memory.py offload_path). The global gradient norm is summed on the device,
the host never reads gradients for it (optimizer.py).

Deferred step (issue 13 item 4), opt-in `defer_optimizer_step='first'|'all'`: at the end of the
batch only the global part runs (gradient norm, clipping, non-block units); each block's own
device Adam update is queued on the opt stream when the next forward starts the block before it
(ahead of that block's kernels, so it runs beside them however fast the host launches), its CPU
Adam share and weight publication when that block's forward ends, and the block's forward waits
for them. Later stages' eager step already sits in the warm-up bubble: it starts when the
global-norm all-reduce returns (right after stage 0's last backward) and stage s waits s forward
passes for its first activation; hence 'first'. Not done: removing the host-side synchronisation on the global norm
(keep the clip coefficient on the device and pass it to the update kernels; Mist's runtime does not
clip at all), which would let stages s > 0 start their step before stage 0 finishes its backward.
fp16 (loss scaling) and checkpoint save/load of the sharded state are not supported.
"""

from mist_ds.runtime.mistpipe.memory import StageMemory

__all__ = ["StageMemory", "build_mistpipe_engine"]


def __getattr__(name):
    if name == "build_mistpipe_engine":  # lazy: importing the package must not import deepspeed
        from mist_ds.runtime.mistpipe.engine import build_mistpipe_engine

        return build_mistpipe_engine
    raise AttributeError(name)
