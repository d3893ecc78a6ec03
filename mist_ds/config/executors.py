"""What each executor can run, declared once as data: its constants and its rules.

An *executor* is the engine a plan runs on:
* `deepspeed` — stock DeepSpeed, one `deepspeed.initialize` engine (a `PipelineEngine` for pipelines)
  configured by `ds_config.json`, one ZeRO/offload setting for every stage;
* `mistpipe` — our pipeline engine (mist_ds/runtime/mistpipe, issue 13): DeepSpeed's PipelineEngine
  and 1F1B schedule with each stage's own ZeRO-0..3 and fractional weight / gradient / optimizer
  offload (`per_stage_memory`), built by `build_mistpipe_engine` instead of `deepspeed.initialize`.

Everything that depends on "what the executor accepts" reads it from here:
* the search enumerates memory settings with `Executor.memory_settings` (search/space.py), on the
  executor's grids (`zero_grid`, `weight_ratios`, `gradient_ratios`, `optimizer_ratios`);
* `Plan` validation and `emit.ds_config` call `Executor.plan_violations` / `setting_violations`;
* the cost model reads the executor's DeepSpeed constants (bucket sizes, sub-group size, thresholds),
  which `emit.ds_config` also writes into ds_config.json, so the bytes the model counts are the
  bytes the config asks for.
`tests/config/test_executors.py` holds both directions: every enumerated setting is accepted, and every
accepted setting on the ratio grids is enumerated. Pure: no torch, no deepspeed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import product
from typing import Literal, Protocol

ExecutorName = Literal["deepspeed", "mistpipe"]

# Fractional optimizer/gradient offload grid (ZeRO-3 only in stock DeepSpeed): eighths, as Mist's
# `oo` grid (0 .. 1 by 1/8; MIST.md section 3).
OPTIMIZER_RATIOS = tuple(i / 8 for i in range(9))
WEIGHT_RATIOS = (0.0, 1.0)
# Activation-offload fractions the search tries per stage; a stage offloads
# offloaded_layer_count(fraction, layers - recomputed) whole layers (search/space.py).
ACTIVATION_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)
# mistpipe's grids: any ratio in [0, 1] runs (runtime/mistpipe/layout.py split_point and unit_layout
# cut anywhere); the search tries halves of weights and gradients (2 bytes/parameter each) and
# quarters of the optimizer states (16 bytes/parameter: the finer grid pays off there, as Mist's
# eighths do, MIST.md section 3) to keep the per-stage enumeration small.
MISTPIPE_WEIGHT_RATIOS = (0.0, 0.5, 1.0)
MISTPIPE_GRADIENT_RATIOS = (0.0, 0.5, 1.0)
MISTPIPE_OPTIMIZER_RATIOS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class DeepSpeedConstants:
    """zero_optimization values mist_ds writes into every ds_config.json (elements, not bytes).

    Meanings: deepspeed/runtime/zero/config.py (DeepSpeedZeroConfig) of the pinned DeepSpeed 0.19."""

    reduce_bucket_elements: int = 200_000_000
    """`reduce_bucket_size`: elements per gradient-reduction (ipg) bucket."""
    allgather_bucket_elements: int = 200_000_000
    """`allgather_bucket_size`: elements per ZeRO-1/2 parameter all-gather bucket."""
    stage3_prefetch_elements: int = 50_000_000
    """`stage3_prefetch_bucket_size`: ZeRO-3 parameters fetched ahead of use."""
    stage3_max_live_parameters: int = 1_000_000_000
    """`stage3_max_live_parameters`: gathered ZeRO-3 parameters kept at most."""
    stage3_max_reuse_distance: int = 1_000_000_000
    """`stage3_max_reuse_distance`: a ZeRO-3 parameter whose next use comes within this many elements of
    fetches is not released (partitioned_param_coordinator.py __params_to_release; DeepSpeed's default)."""
    stage3_param_persistence_threshold: int = 100_000
    """`stage3_param_persistence_threshold`: ZeRO-3 keeps parameters this small whole on every rank."""
    sub_group_size_elements: int = 100_000_000
    """`sub_group_size`: ZeRO-3 optimizer sub-group; fractional optimizer offload moves whole sub-groups,
    so it must be small enough for a ratio to bite (DeepSpeed's default, 1e9, offloads everything of a
    model under a billion parameters per rank as soon as the ratio is above 0)."""


@dataclass(frozen=True)
class MistpipeConstants:
    """Sizes mist_ds/runtime/mistpipe uses (build_mistpipe_engine's defaults read them here), which
    the cost model (cost/mistpipe.py) charges."""

    num_slots: int = 3
    """Device slots for gathered block weights and for staged host gradient sections (stage.py
    StageRuntime: the block in use, the prefetched neighbour, one cached)."""
    align_elements: int = 64
    """Shard granule: a unit's flat space is padded to a multiple of dp x this (layout.py ALIGN)."""
    min_offload_numel: int = 1024
    """Saved tensors smaller than this stay on the device under activation offload (actoffload.py)."""
    swap_chunk_elements: int = 1 << 24
    """Elements per device slot of the 'gpu_swap' optimizer path (swapadam.py)."""
    num_reload_slabs: int = 2
    """Device slabs per stage that offloaded activations are reloaded into (reload_pool.py ReloadPool): the
    running offloaded block's and the next one's, prefetched; the cost model keeps min(na, this) blocks."""
    d2h_queue_blocks: int = 4
    """Offloaded blocks' worth of forward activations whose copies to the host may be in flight at once
    (actoffload.py: the offloader holds their device sources, counted as allocated, and the compute stream
    waits for the oldest copy beyond this; 0: the caching allocator holds them, uncounted, and a memory cap
    makes it synchronise and retry). 4: the bound measured in bench/results/engine/README.md session 8
    (2 GiB, about 3.4 blocks of llama-7b at micro-batch 1 and seq 4096; 3 allocator retries instead of 18 and
    12.7% faster at a 24 GiB cap), rounded up; the cost model charges min(na, this) x layer_saved."""
    fused_wgrad: bool = True
    """Block linears add their weight gradients into the unit's accumulation buffer in their GEMM
    (runtime/wgrad.py; stage.py FUSED_WGRAD) instead of a fresh gradient and a separate add. Measured
    (S14-1, 1x H200, 2026-12-01, bench/results/engine/fused_wgrad_S14/): 3.074 vs 3.123 s/iter on the
    llama-2.7b c24 plan (grad accumulation 16), 0.601 vs 0.602 on gpt-1.3b b12 (grad accumulation 4),
    equal losses and peak memory; the cost model charges cost/mistpipe.py accumulate_s."""


class MemorySetting(Protocol):
    """What the rules read: ZeRO stage and the three model-state offload ratios (config.plan.MemoryStrategy)."""

    zero_stage: int
    offload_weights_ratio: float
    offload_gradients_ratio: float
    offload_optimizer_ratio: float


Rule = Callable[[int, MemorySetting], "str | None"]


def pipeline_zero(num_stages: int, m: MemorySetting) -> str | None:
    """DeepSpeed's PipelineEngine asserts ZeRO stage < 2 (runtime/pipe/engine.py, PipelineEngine.__init__:
    'ZeRO-2 and ZeRO-3 are incompatible with pipeline parallelism')."""
    if num_stages > 1 and m.zero_stage > 1:
        return (f"DeepSpeed's PipelineEngine refuses ZeRO-{m.zero_stage} with {num_stages} stages "
                "(pipe/engine.py asserts stage < 2)")
    return None


def optimizer_offload(num_stages: int, m: MemorySetting) -> str | None:
    """Optimizer offload lives in the ZeRO optimizers (needs ZeRO >= 1), and a fractional ratio is
    accepted only with ZeRO-3 (runtime/zero/config.py, DeepSpeedZeroConfig.offload_ratio_check)."""
    ratio = m.offload_optimizer_ratio
    if ratio > 0 and m.zero_stage == 0:
        return "optimizer offload needs ZeRO stage >= 1 (ZeRO-Offload lives in the ZeRO optimizers)"
    if 0 < ratio < 1 and m.zero_stage != 3:
        return f"fractional optimizer offload ({ratio:g}) needs ZeRO-3 (zero/config.py offload_ratio_check)"
    return None


def weight_offload(num_stages: int, m: MemorySetting) -> str | None:
    """Parameter offload exists only in ZeRO-3 and moves all parameters (offload_param has no ratio:
    runtime/zero/offload_config.py, DeepSpeedZeroOffloadParamConfig)."""
    ratio = m.offload_weights_ratio
    if ratio > 0 and (m.zero_stage != 3 or ratio != 1.0):
        return (f"weight offload ratio {ratio:g} with ZeRO-{m.zero_stage}: DeepSpeed offloads parameters "
                "only with ZeRO-3, and all of them")
    return None


def gradients_follow_optimizer(num_stages: int, m: MemorySetting) -> str | None:
    """DeepSpeed keeps the fp32 gradient partition next to the optimizer state it feeds: offloading the
    optimizer offloads its gradients, and nothing else can (stage_1_and_2.py / stage3.py, cpu_offload)."""
    if m.offload_gradients_ratio != m.offload_optimizer_ratio:
        return (f"DeepSpeed offloads gradients together with optimizer states: offload_gradients_ratio "
                f"{m.offload_gradients_ratio:g} != offload_optimizer_ratio {m.offload_optimizer_ratio:g}")
    return None


STOCK_DEEPSPEED_RULES: tuple[Rule, ...] = (pipeline_zero, optimizer_offload, weight_offload,
                                           gradients_follow_optimizer)
# mistpipe runs every ZeRO stage with any pipeline depth (one stage included) and any offload ratios
# in [0, 1]: its engine shards and splits flat units itself (runtime/mistpipe/unit.py, optimizer.py),
# per TP rank under tensor parallelism (ZeRO-3 + weight offload with TP 2 trains like stock DeepSpeed:
# tests/runtime/mistpipe_cases.py dp2tp2_zero3). What it cannot run is a dtype (Executor.dtypes: no
# loss scaling, so no fp16) and the mesh limits it shares with stock DeepSpeed (search/feasibility.py).
MISTPIPE_RULES: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Setting:
    """One enumerable memory setting (satisfies MemorySetting)."""

    zero_stage: int
    offload_weights_ratio: float = 0.0
    offload_gradients_ratio: float = 0.0
    offload_optimizer_ratio: float = 0.0


@dataclass(frozen=True)
class Executor:
    """One engine a plan can run on: its constants, its rules and its enumeration grids."""

    name: ExecutorName
    constants: DeepSpeedConstants | MistpipeConstants
    rules: tuple[Rule, ...]
    per_stage_memory: bool
    """Whether stages of one pipeline may use different ZeRO/offload settings."""
    weight_ratios: tuple[float, ...] = WEIGHT_RATIOS
    optimizer_ratios: tuple[float, ...] = OPTIMIZER_RATIOS
    gradient_ratios: tuple[float, ...] | None = None
    """Gradient offload grid; None: gradients follow the optimizer states (gradients_follow_optimizer)."""
    zero_grid: tuple[int, ...] = (0, 1, 2, 3)
    """ZeRO stages the search enumerates (a stage that runs the same code as another is left out)."""
    dtypes: tuple[str, ...] = ("bf16", "fp16")
    """Plan dtypes the executor trains in."""

    def setting_violations(self, num_stages: int, setting: MemorySetting) -> list[str]:
        """Why this executor cannot run `setting` in a `num_stages`-stage pipeline (empty: it can)."""
        return [msg for rule in self.rules if (msg := rule(num_stages, setting)) is not None]

    def plan_violations(self, num_stages: int, settings: Iterable[MemorySetting],
                        dtype: str | None = None) -> list[str]:
        """Violations of every stage's setting, plus per-stage differences where not supported, and
        the plan's `dtype` when the executor does not train in it."""
        settings = list(settings)
        problems: list[str] = []
        if dtype is not None and dtype not in self.dtypes:
            problems.append(f"executor '{self.name}' trains in {'/'.join(self.dtypes)}, not {dtype}"
                            + (" (mistpipe does no loss scaling: runtime/mistpipe/engine.py split_config)"
                               if self.name == "mistpipe" else ""))
        if not self.per_stage_memory and any(s != settings[0] for s in settings[1:]):
            problems.append(f"executor '{self.name}' runs one ZeRO/offload setting for all stages")
        for setting in dict.fromkeys(settings):
            problems += self.setting_violations(num_stages, setting)
        return problems

    def memory_settings(self, num_stages: int, zero_stages: Iterable[int], *, weights: bool = True,
                        optimizer: bool = True, gradients: bool | None = None) -> list[Setting]:
        """Every setting on the grids that this executor accepts, in a fixed order, for the ZeRO
        stages of `zero_stages` on `zero_grid`. `weights` / `optimizer` / `gradients` switch those
        offload kinds on; an executor without a gradient grid offloads gradients with the optimizer
        states (gradients_follow_optimizer; `gradients` is then ignored)."""
        w_grid = self.weight_ratios if weights else (0.0,)
        o_grid = self.optimizer_ratios if optimizer else (0.0,)
        g_grid = (None,) if self.gradient_ratios is None else (
            self.gradient_ratios if (optimizer if gradients is None else gradients) else (0.0,))
        out = []
        zeros = [z for z in zero_stages if z in self.zero_grid]
        for zero, w, g, o in product(zeros, w_grid, g_grid, o_grid):
            setting = Setting(zero, w, o if g is None else g, o)
            if not self.setting_violations(num_stages, setting):
                out.append(setting)
        return out

    def on_grids(self, setting: MemorySetting) -> bool:
        """Whether `setting` lies on the grids the search enumerates."""
        g_ok = (setting.offload_gradients_ratio == setting.offload_optimizer_ratio
                if self.gradient_ratios is None else setting.offload_gradients_ratio in self.gradient_ratios)
        return (setting.zero_stage in self.zero_grid and setting.offload_weights_ratio in self.weight_ratios
                and setting.offload_optimizer_ratio in self.optimizer_ratios and g_ok)


STOCK_DEEPSPEED = Executor(name="deepspeed", constants=DeepSpeedConstants(), rules=STOCK_DEEPSPEED_RULES,
                           per_stage_memory=False)
# ZeRO-2 is accepted but not enumerated: in mistpipe it runs ZeRO-1's code (gradients accumulate in
# a full-size buffer and are reduce-scattered once per iteration either way: runtime/mistpipe/
# memory.py StageMemory.zero_stage, stage.py _build_units reads only zero_stage == 3).
MISTPIPE = Executor(name="mistpipe", constants=MistpipeConstants(), rules=MISTPIPE_RULES,
                    per_stage_memory=True, weight_ratios=MISTPIPE_WEIGHT_RATIOS,
                    optimizer_ratios=MISTPIPE_OPTIMIZER_RATIOS, gradient_ratios=MISTPIPE_GRADIENT_RATIOS,
                    zero_grid=(0, 1, 3), dtypes=("bf16",))
EXECUTORS: dict[str, Executor] = {STOCK_DEEPSPEED.name: STOCK_DEEPSPEED, MISTPIPE.name: MISTPIPE}


def get_executor(name: str) -> Executor:
    """The executor called `name` (ValueError naming the known ones otherwise)."""
    try:
        return EXECUTORS[name]
    except KeyError:
        raise ValueError(f"unknown executor '{name}'; known: {', '.join(EXECUTORS)}") from None


def offloaded_layer_count(fraction, rest):
    """Whole layers whose saved activations a stage offloads for an offload `fraction` of its `rest`
    non-recomputed layers: round half up (works on numpy arrays and ints). The one place a fraction
    becomes a count; plans, the cost model and the runtime all carry the count."""
    import numpy as np

    return np.floor(np.asarray(fraction, float) * np.asarray(rest, float) + 0.5).astype(np.int64)
