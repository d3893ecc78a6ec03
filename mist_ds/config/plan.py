"""Plan: how to train — the output of the search and the input of the runtime (schema version 2).

A plan says exactly what runs. Engine-wide settings appear once (executor, dp x tp mesh, micro-batch,
gradient accumulation, the ZeRO/offload setting the executor applies to every stage, the attention
kernel); a stage carries only what really varies per stage (its layers, how many of them recompute,
how many keep their saved activations in host memory, and — only for executors with
`per_stage_memory` — its own ZeRO/offload setting). Version-1 files (per-stage copies of every
setting, fractional activation offload) are read through `migrate_v1` (config/plan_v1.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mist_ds.config.base import StrictModel
from mist_ds.config.cluster import ClusterSpec
from mist_ds.config.executors import ExecutorName, get_executor
from mist_ds.config.model_spec import ModelSpec
from mist_ds.config.prediction import PlanPrediction
from mist_ds.config.request import DType, ZeroStage

PLAN_SCHEMA_VERSION = 2
AttentionKernel = Literal["sdpa", "sdpa_flash", "sdpa_cudnn", "sdpa_efficient", "flash_attn", "math"]
"""Attention kernels a plan can name (runtime/kernels.py causal_attention): SDPA's own dispatch, one
SDPA backend forced, flash-attn's flash_attn_func, or the math reference."""
Ratio = Field(default=0.0, ge=0.0, le=1.0)
Zero3MaxLive = Literal["deepspeed_default", "reuse_set"]
"""How a stock-DeepSpeed ZeRO-3 plan sets stage3_max_live_parameters (Plan.zero3_max_live)."""
Zero3FetchUnit = Literal["module", "block"]
"""What a stock-DeepSpeed ZeRO-3 plan fetches and releases as one unit (Plan.zero3_fetch_unit)."""
HeadLoss = Literal["logits", "fused"]
"""How a mistpipe plan's last stage computes the LM head and its loss (Plan.head_loss)."""


def is_stock_zero3(executor: str, zero_stage) -> bool:
    """Whether a plan of this executor and ZeRO stage runs stock DeepSpeed's ZeRO-3 (mistpipe gathers with
    its own engine): the plans that write stage3_max_live_parameters and may fetch whole blocks, where
    the search sets both (search/plans.py, search/evaluate.py) and where a plan may. Works on numpy
    arrays of stages too."""
    return (executor == "deepspeed") & (zero_stage == 3)


def gathers_nothing(dp, offload_weights_ratio) -> bool:
    """Whether a ZeRO-3 rank holds every parameter it computes with: one data-parallel rank and the weights on
    the GPU (DeepSpeed's no-gather path). Where the search fetches whole blocks (Plan.zero3_fetch_unit): there
    block fetching changes no memory and was measured faster (bench/results/runtime/z3leaf_S22/); with gathers
    the reuse rule then keeps more blocks gathered (cost/memory.py reuse_set_elements) and no GPU run has
    measured its time. Works on numpy arrays too."""
    return (dp == 1) & (offload_weights_ratio == 0)


class MemoryStrategy(StrictModel):
    """ZeRO stage and CPU offload of the model states (what `zero_optimization` expresses)."""

    zero_stage: ZeroStage = 0
    """ZeRO stage of the data-parallel group (0: none, 1: optimizer states, 2: + gradients, 3: + weights)."""
    offload_weights_ratio: float = Ratio
    """Fraction of the 16-bit weights kept in CPU memory."""
    offload_gradients_ratio: float = Ratio
    """Fraction of the gradients kept in CPU memory."""
    offload_optimizer_ratio: float = Ratio
    """Fraction of the optimizer states (and their Adam step, on the CPU) kept in CPU memory."""

    @property
    def offloads_model_states(self) -> bool:
        """True when any weight, gradient or optimizer state lives in CPU memory."""
        return (self.offload_weights_ratio + self.offload_gradients_ratio
                + self.offload_optimizer_ratio) > 0


def describe_setting(num_stages: int, dp: int, tp: int, micro_batch: int, grad_accum: int, zero_stage: int,
                     offload_weights: float = 0.0, offload_optimizer: float = 0.0, short: bool = False,
                     offload_gradients: float | None = None) -> str:
    """One-line text of an engine-wide setting: 'pp2 x dp4 x tp1, mb 2, ga 8, ZeRO-1, opt-offload 1'
    (short: 'pp2 dp4 tp1 mb2 ga8 Z1 opt1'). Gradients are offloaded with the optimizer states unless
    `offload_gradients` says otherwise (then shown as 'grad')."""
    return (describe_mesh(num_stages, dp, tp, micro_batch, grad_accum, short)
            + describe_memory(zero_stage, offload_weights, offload_optimizer, short, offload_gradients))


def describe_mesh(num_stages: int, dp: int, tp: int, micro_batch: int, grad_accum: int, short: bool) -> str:
    """The mesh and batch part of describe_setting ('pp2 x dp4 x tp1, mb 2, ga 8' / 'pp2 dp4 tp1 mb2 ga8')."""
    return (f"pp{num_stages} dp{dp} tp{tp} mb{micro_batch} ga{grad_accum}" if short else
            f"pp{num_stages} x dp{dp} x tp{tp}, mb {micro_batch}, ga {grad_accum}")


def describe_memory(zero_stage: int, offload_weights: float, offload_optimizer: float, short: bool,
                    offload_gradients: float | None = None) -> str:
    """The ZeRO/offload part of describe_setting, with its leading separator (' Z1 opt1' /
    ', ZeRO-1, opt-offload 1')."""
    kinds = [("w", offload_weights)]
    if offload_gradients is not None and offload_gradients != offload_optimizer:
        kinds.append(("grad", offload_gradients))
    kinds.append(("opt", offload_optimizer))
    offloads = [(name, ratio) for name, ratio in kinds if ratio]
    if short:
        return f" Z{zero_stage}" + "".join(f" {name}{ratio:g}" for name, ratio in offloads)
    return f", ZeRO-{zero_stage}" + "".join(f", {name}-offload {ratio:g}" for name, ratio in offloads)


def describe_fetch_unit(unit: str, short: bool) -> str:
    """The Plan.zero3_fetch_unit part of a plan's description: nothing at DeepSpeed's default ('module'),
    else ' blk' / ', whole-block fetch'."""
    if unit == "module":
        return ""
    return " blk" if short else ", whole-block fetch"


class StagePlan(StrictModel):
    """One pipeline stage: its layers and what it does to save activation memory."""

    layer_start: int = Field(ge=0)
    """First transformer block of the stage (inclusive)."""
    layer_end: int = Field(ge=1)
    """One past the last transformer block of the stage (exclusive)."""
    num_recompute_layers: int = Field(default=0, ge=0)
    """How many of the stage's first layers recompute their activations in backward."""
    num_offloaded_layers: int = Field(default=0, ge=0)
    """How many layers right after the recomputed ones keep their saved activations in CPU memory."""
    memory: MemoryStrategy | None = None
    """This stage's own ZeRO/offload setting (only executors with per-stage memory); None: the plan's."""

    @model_validator(mode="after")
    def _layers_add_up(self) -> StagePlan:
        if self.layer_end <= self.layer_start:
            raise ValueError(f"empty layer range [{self.layer_start}, {self.layer_end})")
        used = self.num_recompute_layers + self.num_offloaded_layers
        if used > self.num_layers:
            raise ValueError(f"{self.num_recompute_layers} recomputed + {self.num_offloaded_layers} "
                             f"offloaded layers exceed the stage's {self.num_layers} layers")
        return self

    @property
    def num_layers(self) -> int:
        """Transformer blocks in the stage."""
        return self.layer_end - self.layer_start


class Plan(StrictModel):
    """A complete training configuration with (optionally) its predicted cost."""

    OMITTED_AT_DEFAULT = ("zero3_max_live", "zero3_fetch_unit", "head_loss")

    schema_version: Literal[2] = PLAN_SCHEMA_VERSION
    """Plan file format version (1: per-stage copies of engine-wide settings; read by migration)."""
    executor: ExecutorName = "deepspeed"
    """Engine that runs the plan (mist_ds/config/executors.py declares what each can run)."""
    model: ModelSpec
    """The model trained."""
    cluster: ClusterSpec
    """The cluster it runs on."""
    global_batch_size: int = Field(ge=1)
    """Sequences per optimizer step."""
    seq_len: int = Field(ge=1)
    """Tokens per sequence."""
    dtype: DType = "bf16"
    """Compute dtype."""
    dp: int = Field(ge=1)
    """Data-parallel degree of every stage."""
    tp: int = Field(ge=1)
    """Tensor-parallel degree of every stage."""
    micro_batch_size: int = Field(ge=1)
    """Sequences per micro-batch per data-parallel rank."""
    grad_accum_steps: int = Field(ge=1)
    """Micro-batches per optimizer step (per pipeline, per data-parallel rank)."""
    memory: MemoryStrategy = MemoryStrategy()
    """ZeRO/offload setting of every stage that does not carry its own."""
    zero3_max_live: Zero3MaxLive = "deepspeed_default"
    """ZeRO-3's `stage3_max_live_parameters` (stock DeepSpeed executor): 'deepspeed_default' writes
    config/executors.py's constant (DeepSpeed's 1e9), under which the prefetcher keeps up to that many
    elements gathered into the backward; 'reuse_set' writes the elements the reuse rule keeps gathered
    anyway (cost/memory.py zero3_reuse_set), so nothing more stays gathered (measured on gpt-1.3b: 0.91
    GiB less, no slower; bench/results/runtime/max_live_S18/). Left out of the plan file at its default,
    so plans written before it keep their content hash."""
    zero3_fetch_unit: Zero3FetchUnit = "module"
    """What stock DeepSpeed's ZeRO-3 fetches and releases as one unit: 'module' hooks every submodule
    (DeepSpeed's default: parameter_offload.py _register_deepspeed_module), 'block' flags each
    transformer block a z3 leaf module (ds_config.json's zero_optimization.leaf_module: emit/ds_config.py
    BLOCK_CLASS), so one hook pair fetches and releases the whole block and its submodules carry none.
    Measured on 1x H200: the host-bound 1-GPU ZeRO-3 plans ran 12-51% faster with 'block'
    (bench/results/runtime/z3leaf_S22/).
    The search writes 'block' where a rank gathers nothing (gathers_nothing). Left out of the plan file
    at its default, so plans written before it keep their content hash."""
    head_loss: HeadLoss = "logits"
    """How the mistpipe executor's last stage computes the LM head and its loss: 'logits' makes the logit
    matrix and runs the cross-entropy on it; 'fused' computes head and cross-entropy in one chunked pass that
    never holds it (runtime/fused_head_loss.py; priced by cost/mistpipe.py _fused_working and
    cost/layer_time.py fused_head_s). 'fused' only with the mistpipe executor; the search writes it where it
    predicts it faster than the logits path (SearchSpace.fused_head_loss). Left out of the plan file at its
    default, so plans written before it keep their content hash."""
    attention: AttentionKernel = "sdpa"
    """Attention kernel the runtime uses and the cost model costed (saved tensors differ per kernel:
    cost/activations.py ATTENTION_SAVES)."""
    stages: tuple[StagePlan, ...] = Field(min_length=1)
    """Pipeline stages in order (one stage = no pipelining)."""
    gpu_memory_cap_bytes: int | None = Field(default=None, gt=0)
    """Per-GPU memory cap the runtime enforces (emulates a smaller card); None = whole card."""
    prediction: PlanPrediction | None = None
    """Cost-model prediction, filled in by the search or by predict."""

    @model_validator(mode="before")
    @classmethod
    def _read_version_1(cls, data):
        from mist_ds.config.plan_v1 import is_version_1, migrate_v1

        return migrate_v1(data) if is_version_1(data) else data

    @model_validator(mode="after")
    def _stages_cover_model(self) -> Plan:
        expected = 0
        for index, stage in enumerate(self.stages):
            if stage.layer_start != expected:
                raise ValueError(f"stage {index} starts at layer {stage.layer_start}, expected {expected}: "
                                 "layer ranges must cover the model contiguously")
            expected = stage.layer_end
        if expected != self.model.num_layers:
            raise ValueError(f"stages cover layers [0, {expected}) but {self.model.name} has "
                             f"{self.model.num_layers} layers")
        return self

    @model_validator(mode="after")
    def _seq_fits_model(self) -> Plan:
        self.model.check_seq_len(self.seq_len)
        return self

    @model_validator(mode="after")
    def _mesh_fits(self) -> Plan:
        per_step = self.micro_batch_size * self.dp * self.grad_accum_steps
        if per_step != self.global_batch_size:
            raise ValueError(f"micro_batch {self.micro_batch_size} x dp {self.dp} x grad_accum "
                             f"{self.grad_accum_steps} = {per_step} != global batch {self.global_batch_size}")
        if self.model.num_heads % self.tp or self.model.num_kv_heads % self.tp:
            raise ValueError(f"tp {self.tp} does not divide {self.model.num_heads} heads / "
                             f"{self.model.num_kv_heads} kv heads")
        used = self.num_stages * self.dp * self.tp
        if used != self.cluster.num_gpus:
            raise ValueError(f"{self.num_stages} stages x dp {self.dp} x tp {self.tp} = {used} GPUs "
                             f"but the cluster has {self.cluster.num_gpus}")
        return self

    @model_validator(mode="after")
    def _max_live_applies(self) -> Plan:
        if self.zero3_max_live != "deepspeed_default" and not is_stock_zero3(self.executor, self.memory.zero_stage):
            raise ValueError(f"zero3_max_live '{self.zero3_max_live}' needs the deepspeed executor with ZeRO-3 "
                             f"(this plan: {self.executor}, ZeRO-{self.memory.zero_stage})")
        return self

    @model_validator(mode="after")
    def _fetch_unit_applies(self) -> Plan:
        if self.zero3_fetch_unit != "module" and not is_stock_zero3(self.executor, self.memory.zero_stage):
            raise ValueError(f"zero3_fetch_unit '{self.zero3_fetch_unit}' needs the deepspeed executor with ZeRO-3 "
                             f"(this plan: {self.executor}, ZeRO-{self.memory.zero_stage})")
        return self

    @model_validator(mode="after")
    def _head_loss_applies(self) -> Plan:
        if self.head_loss != "logits" and self.executor != "mistpipe":
            raise ValueError(f"head_loss '{self.head_loss}' needs the mistpipe executor (this plan: {self.executor})")
        return self

    @model_validator(mode="after")
    def _executor_runs_it(self) -> Plan:
        problems = get_executor(self.executor).plan_violations(
            self.num_stages, [self.stage_memory(i) for i in range(self.num_stages)], self.dtype)
        if problems:
            raise ValueError(problems[0])
        return self

    @property
    def num_stages(self) -> int:
        """Pipeline depth."""
        return len(self.stages)

    @property
    def gpus_per_stage(self) -> int:
        """GPUs of one stage (dp x tp)."""
        return self.dp * self.tp

    @property
    def tokens_per_step(self) -> int:
        """Tokens per optimizer step."""
        return self.global_batch_size * self.seq_len

    def describe(self, short: bool = False) -> str:
        """describe_setting of the plan's engine-wide setting; a mistpipe plan names its executor and,
        where stages differ, every stage's ZeRO/offload setting ('... | stages Z3 w0.5 / Z1')."""
        m = self.memory
        text = describe_setting(self.num_stages, self.dp, self.tp, self.micro_batch_size, self.grad_accum_steps,
                                m.zero_stage, m.offload_weights_ratio, m.offload_optimizer_ratio, short,
                                m.offload_gradients_ratio)
        if self.executor == "deepspeed":
            return text + describe_fetch_unit(self.zero3_fetch_unit, short)
        settings = [self.stage_memory(i) for i in range(self.num_stages)]
        fused = ", fused head loss" if self.head_loss == "fused" else ""
        if all(s == settings[0] for s in settings):
            return f"{self.executor}: {text}{fused}"
        per_stage = " / ".join(describe_memory(s.zero_stage, s.offload_weights_ratio, s.offload_optimizer_ratio,
                                               True, s.offload_gradients_ratio).strip() for s in settings)
        mesh = describe_mesh(self.num_stages, self.dp, self.tp, self.micro_batch_size, self.grad_accum_steps, short)
        return f"{self.executor}: {mesh}{' ' if short else ', '}stages {per_stage}{fused}"

    def stage_memory(self, index: int) -> MemoryStrategy:
        """The ZeRO/offload setting stage `index` runs with."""
        return self.stages[index].memory or self.memory

    @property
    def uses_host_memory(self) -> bool:
        """True when any stage keeps weights, gradients, optimizer states or activations in CPU memory."""
        return any(self.stage_memory(i).offloads_model_states or stage.num_offloaded_layers > 0
                   for i, stage in enumerate(self.stages))

    def without_prediction(self) -> Plan:
        """The same plan with its prediction removed (what the runtime hashes)."""
        return self.model_copy(update={"prediction": None})


def plan_file_hashes(path) -> frozenset[str]:
    """Every RunReport.plan_hash that means "a run of the plan in this file": the content hash of the
    plan without its prediction, and for a version-1 file the hash its runtime recorded."""
    from pathlib import Path

    from mist_ds.config.plan_v1 import version_1_hash

    text = Path(path).read_text()
    hashes = {Plan.from_json_text(text).without_prediction().content_hash(), version_1_hash(text)}
    return frozenset(h for h in hashes if h is not None)
