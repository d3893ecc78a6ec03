"""What each executor can run, declared once as data: its constants and its rules.

An *executor* is the engine a plan runs on. Today there is one: stock DeepSpeed (`deepspeed`), one
`deepspeed.initialize` engine (a `PipelineEngine` for pipelines) configured by `ds_config.json`. The
custom pipeline engine of issue 13 will be a second entry in EXECUTORS.

Everything that depends on "what the executor accepts" reads it from here:
* the search enumerates memory settings with `Executor.memory_settings` (search/space.py);
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

ExecutorName = Literal["deepspeed"]

# Fractional optimizer/gradient offload grid (ZeRO-3 only in stock DeepSpeed): eighths, as Mist's
# `oo` grid (0 .. 1 by 1/8; MIST.md section 3).
OPTIMIZER_RATIOS = tuple(i / 8 for i in range(9))
WEIGHT_RATIOS = (0.0, 1.0)
# Activation-offload fractions the search tries per stage; a stage offloads
# offloaded_layer_count(fraction, layers - recomputed) whole layers (search/space.py).
ACTIVATION_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)


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
    stage3_param_persistence_threshold: int = 100_000
    """`stage3_param_persistence_threshold`: ZeRO-3 keeps parameters this small whole on every rank."""
    sub_group_size_elements: int = 100_000_000
    """`sub_group_size`: ZeRO-3 optimizer sub-group; fractional optimizer offload moves whole sub-groups,
    so it must be small enough for a ratio to bite (DeepSpeed's default, 1e9, offloads everything of a
    model under a billion parameters per rank as soon as the ratio is above 0)."""


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
    constants: DeepSpeedConstants
    rules: tuple[Rule, ...]
    per_stage_memory: bool
    """Whether stages of one pipeline may use different ZeRO/offload settings."""
    weight_ratios: tuple[float, ...] = WEIGHT_RATIOS
    optimizer_ratios: tuple[float, ...] = OPTIMIZER_RATIOS

    def setting_violations(self, num_stages: int, setting: MemorySetting) -> list[str]:
        """Why this executor cannot run `setting` in a `num_stages`-stage pipeline (empty: it can)."""
        return [msg for rule in self.rules if (msg := rule(num_stages, setting)) is not None]

    def plan_violations(self, num_stages: int, settings: Iterable[MemorySetting]) -> list[str]:
        """Violations of every stage's setting, plus per-stage differences where not supported."""
        settings = list(settings)
        problems: list[str] = []
        if not self.per_stage_memory and any(s != settings[0] for s in settings[1:]):
            problems.append(f"executor '{self.name}' runs one ZeRO/offload setting for all stages")
        for setting in dict.fromkeys(settings):
            problems += self.setting_violations(num_stages, setting)
        return problems

    def memory_settings(self, num_stages: int, zero_stages: Iterable[int], *, weights: bool = True,
                        optimizer: bool = True) -> list[Setting]:
        """Every setting on the grids that this executor accepts, in a fixed order. `weights` /
        `optimizer` switch those offload kinds on; gradients are offloaded with the optimizer
        states (gradients_follow_optimizer)."""
        w_grid = self.weight_ratios if weights else (0.0,)
        o_grid = self.optimizer_ratios if optimizer else (0.0,)
        out = []
        for zero, w, o in product(zero_stages, w_grid, o_grid):
            setting = Setting(zero, w, o, o)
            if not self.setting_violations(num_stages, setting):
                out.append(setting)
        return out


STOCK_DEEPSPEED = Executor(name="deepspeed", constants=DeepSpeedConstants(), rules=STOCK_DEEPSPEED_RULES,
                           per_stage_memory=False)
EXECUTORS: dict[str, Executor] = {STOCK_DEEPSPEED.name: STOCK_DEEPSPEED}


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
