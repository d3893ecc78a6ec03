"""Plan -> DeepSpeed config dict (the `ds_config.json` a plan runs with), and the check that a
config a user may have edited still runs the plan that was costed.

ds_config.json is the source the runtime hands to `deepspeed.initialize` (runtime/build.py), or for a
plan whose executor is `mistpipe` to `build_mistpipe_engine` (mist_ds/runtime/mistpipe), which reads
only the batch sizes, `optimizer`, `gradient_clipping`, `bf16` and `data_types.grad_accum_dtype`;
its config has no `zero_optimization` section and a `mistpipe` section instead that says so and lists
each stage's ZeRO/offload setting (the engine takes those from plan.json) and, where a stage offloads
optimizer state, the path that updates it (`optimizer_offload_path`, 'gpu_swap' or 'cpu_adam', with
`optimizer_offload_why`): the cost model's choice (cost/mistpipe_step.py optimizer_path on the profile
the plan was predicted with), which the engine runs; a user may change it like any engine option (the
prediction then no longer describes the run; the run records the path it ran). A user
may edit what the cost model does not depend on (optimizer hyper-parameters, clipping, logging, ...);
the fields that fix what was costed (PLAN_BOUND_FIELDS) must still equal what this module writes, or
the runtime refuses to start. Field meanings: DeepSpeed docs, "DeepSpeed Configuration JSON", and
deepspeed/runtime/zero/config.py, zero/offload_config.py of the pinned DeepSpeed (0.19.x).
"""

from __future__ import annotations

from typing import Any, Literal

from mist_ds.config import HardwareProfile, Plan
from mist_ds.config.executors import get_executor
from mist_ds.config.plan import MemoryStrategy

Precision = Literal["bf16", "fp16", "fp32"]

ADAMW = {"type": "AdamW", "params": {"lr": 1e-4, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1}}

# (path in the config) of every value the cost model's prediction depends on
PLAN_BOUND_FIELDS = (
    ("train_batch_size",), ("train_micro_batch_size_per_gpu",), ("gradient_accumulation_steps",),
    ("zero_optimization",), ("bf16",), ("fp16",), ("mistpipe",),
)
MISTPIPE_NOTE = ("executor 'mistpipe': read by mist_ds.runtime.mistpipe.build_mistpipe_engine, not "
                 "deepspeed.initialize. It uses train_batch_size, train_micro_batch_size_per_gpu, "
                 "gradient_accumulation_steps, optimizer (AdamW), gradient_clipping, bf16 and "
                 "data_types.grad_accum_dtype; each stage's ZeRO/offload setting below comes from "
                 "plan.json (no zero_optimization section).")
PATH_KEYS = ("optimizer_offload_path", "optimizer_offload_why")  # mistpipe_section: not plan-bound
# The module ZeRO-3 fetches and releases whole where plan.zero3_fetch_unit = 'block': mist_ds's transformer
# block (runtime/blocks.py), named by its qualified class name in `zero_optimization.leaf_module.classes`,
# which DeepSpeed 0.19 flags a z3 leaf module (runtime/zero/leaf_module_config.py;
# engine.py _configure_distributed_model calls utils/z3_leaf_module.py apply_zero_leaf_module_config before
# ZeRO-3 registers its hooks). Giving `classes` replaces DeepSpeed's default list (MoE blocks only).
BLOCK_CLASS = "mist_ds.runtime.blocks.TransformerBlock"


class UnsupportedPlanError(ValueError):
    """A plan (or a ds_config.json) the executor cannot run as costed."""


def _offload(ratio: float, with_ratio: bool) -> dict[str, Any] | None:
    if ratio == 0.0:
        return None
    section: dict[str, Any] = {"device": "cpu", "pin_memory": True}
    if with_ratio and ratio < 1.0:
        section["ratio"] = ratio
    return section


def max_live_parameters(plan: Plan) -> int:
    """`stage3_max_live_parameters` of a ZeRO-3 plan: the executor's constant, or with
    plan.zero3_max_live = 'reuse_set' the elements ZeRO-3's reuse rule keeps gathered anyway."""
    if plan.zero3_max_live == "reuse_set":
        from mist_ds.cost.memory import zero3_reuse_set

        return zero3_reuse_set(plan.model, plan.tp, plan.stages[0].num_layers)
    return get_executor(plan.executor).constants.stage3_max_live_parameters


def zero_section(plan: Plan, memory: MemoryStrategy) -> dict[str, Any]:
    """The `zero_optimization` block (overlap_comm off for pipelines: the PipelineEngine turns it off
    anyway, engine.py _configure_zero_optimizer). Bucket sizes and thresholds are the executor's
    constants, which the cost model reads too (config/executors.py)."""
    ds = get_executor(plan.executor).constants
    section: dict[str, Any] = {
        "stage": memory.zero_stage,
        "overlap_comm": plan.num_stages == 1,
        "contiguous_gradients": True,
        "reduce_bucket_size": ds.reduce_bucket_elements,
        "allgather_bucket_size": ds.allgather_bucket_elements,
    }
    if memory.zero_stage == 3:
        section.update({
            "stage3_prefetch_bucket_size": ds.stage3_prefetch_elements,
            "stage3_max_live_parameters": max_live_parameters(plan),
            "stage3_max_reuse_distance": ds.stage3_max_reuse_distance,
            "stage3_param_persistence_threshold": ds.stage3_param_persistence_threshold,
            "sub_group_size": ds.sub_group_size_elements,
        })
        if plan.zero3_fetch_unit == "block":
            section["leaf_module"] = {"classes": [BLOCK_CLASS]}
    for key, value in (("offload_optimizer", _offload(memory.offload_optimizer_ratio, True)),
                       ("offload_param", _offload(memory.offload_weights_ratio, False))):
        if value is not None:
            section[key] = value
    return section


def build_ds_config(plan: Plan, precision: Precision | None = None,
                    hardware: HardwareProfile | None = None) -> dict[str, Any]:
    """The DeepSpeed config dict for `plan` (the Plan's validation already holds the executor's rules).

    `precision` overrides plan.dtype; 'fp32' (no bf16/fp16 section) is what CPU runs use. `hardware`: the
    profile the plan was predicted on (optimizer_paths; None: looked up by the prediction's hardware_name).
    """
    config: dict[str, Any] = {
        "train_batch_size": plan.global_batch_size,
        "train_micro_batch_size_per_gpu": plan.micro_batch_size,
        "gradient_accumulation_steps": plan.grad_accum_steps,
        "optimizer": ADAMW,
        "gradient_clipping": 1.0,
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    if plan.executor == "mistpipe":
        config["mistpipe"] = mistpipe_section(plan, hardware)
    else:
        config["zero_optimization"] = zero_section(plan, plan.memory)
    return with_precision(config, precision or plan.dtype)


def mistpipe_section(plan: Plan, hardware: HardwareProfile | None = None) -> dict[str, Any]:
    """The label of a mistpipe config: what reads it, and every stage's setting (informational: the
    engine takes them from the plan; config_mismatches keeps the two equal) with, where the stage
    offloads optimizer state, the path the engine runs for it (PATH_KEYS, optimizer_paths)."""
    stages = []
    paths = optimizer_paths(plan, hardware)
    for index, stage in enumerate(plan.stages):
        memory = plan.stage_memory(index)
        entry = {"layers": [stage.layer_start, stage.layer_end], "zero_stage": memory.zero_stage,
                 "offload_weights_ratio": memory.offload_weights_ratio,
                 "offload_gradients_ratio": memory.offload_gradients_ratio,
                 "offload_optimizer_ratio": memory.offload_optimizer_ratio,
                 "num_offloaded_layers": stage.num_offloaded_layers}
        if memory.offload_optimizer_ratio > 0:
            entry.update(zip(PATH_KEYS, paths[index]))
        stages.append(entry)
    return {"note": MISTPIPE_NOTE, "stages": stages}


def optimizer_paths(plan: Plan, hardware: HardwareProfile | None = None) -> tuple[tuple[str, str], ...]:
    """(path, why) per stage (cost/mistpipe_step.py stage_optimizer_paths) on the profile the plan
    was predicted with: `hardware` (what autotune and predict --out pass: a calibrated profile file is named
    after the file, not a shipped profile), else config/profiles.py hardware_for_plan (an unknown one:
    DEFAULT_PROFILE, as the runtime falls back); no profile is read when no stage offloads optimizer state."""
    if all(plan.stage_memory(i).offload_optimizer_ratio == 0 for i in range(plan.num_stages)):
        return tuple(("none", "") for _ in plan.stages)
    from mist_ds.config.profiles import DEFAULT_PROFILE, hardware_for_plan, load_hardware
    from mist_ds.cost.mistpipe_step import stage_optimizer_paths

    hw = hardware
    if hw is None:
        try:
            hw = hardware_for_plan(plan)
        except ValueError:
            hw = load_hardware(DEFAULT_PROFILE)
    return stage_optimizer_paths(plan, hw)


def with_machine_paths(plan: Plan, config: dict[str, Any], machine: HardwareProfile) -> dict[str, Any]:
    """A copy of `config` whose mistpipe stages' optimizer paths are re-chosen on `machine` (a profile made
    to the running machine, config/machine.py with_copy_slowdowns) wherever the config carries the
    cost model's own choice (its why begins with cost/mistpipe_step.py CHOSEN); a path set by hand or
    forced stays."""
    stages = (config.get("mistpipe") or {}).get("stages")
    if not isinstance(stages, list):
        return config
    from mist_ds.cost.mistpipe_step import CHOSEN

    paths = optimizer_paths(plan, machine)
    out = [s | dict(zip(PATH_KEYS, paths[i]))
           if isinstance(s, dict) and i < len(paths) and str(s.get(PATH_KEYS[1], "")).startswith(CHOSEN) else s
           for i, s in enumerate(stages)]
    return config | {"mistpipe": config["mistpipe"] | {"stages": out}}


def with_precision(config: dict[str, Any], precision: Precision) -> dict[str, Any]:
    """A copy of `config` whose bf16/fp16 sections say `precision` ('fp32': neither, as CPU runs use)."""
    out = {k: v for k, v in config.items() if k not in ("bf16", "fp16")}
    if precision == "bf16":
        out["bf16"] = {"enabled": True}
    elif precision == "fp16":
        out["fp16"] = {"enabled": True, "loss_scale": 0, "initial_scale_power": 16}
    return out


def _get(config: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(config, dict) or key not in config:
            return None
        config = config[key]
    return config


def config_mismatches(plan: Plan, config: dict[str, Any], precision: Precision | None = None) -> list[str]:
    """Where `config` (a ds_config.json as loaded) departs from what `plan` was costed with: one text per
    differing value under the PLAN_BOUND_FIELDS, named by its full path ('zero_optimization.stage',
    'mistpipe.stages[0].zero_stage'; empty: the config runs the plan)."""
    expected = build_ds_config(plan, precision)
    out = []
    for path in PLAN_BOUND_FIELDS:
        out += _differences(".".join(path), _unbound(_get(expected, path)), _unbound(_get(config, path)))
    return out


def _differences(path: str, want: Any, got: Any) -> list[str]:
    """config_mismatches' texts for one value: objects compared key by key and equally long lists item by
    item, so each text names the deepest key that differs (None: the key is absent)."""
    if want is None or got is None:
        if want is None and got is None:
            return []
        if got is None:
            return [f"{path} is not set in ds_config.json but the plan was costed with {want!r}"]
        return [f"{path} is {got!r} in ds_config.json but the plan was costed without it"]
    if isinstance(want, dict) and isinstance(got, dict):
        keys = list(want) + [k for k in got if k not in want]
        return [text for k in keys for text in _differences(f"{path}.{k}", want.get(k), got.get(k))]
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [text for i, (w, g) in enumerate(zip(want, got)) for text in _differences(f"{path}[{i}]", w, g)]
    if want != got:
        return [f"{path} is {got!r} in ds_config.json but the plan was costed with {want!r}"]
    return []


def _unbound(section: Any) -> Any:
    """A mistpipe section without its stages' PATH_KEYS (an engine option a user may change), as
    config_mismatches compares it; any other value as it is."""
    if not (isinstance(section, dict) and isinstance(section.get("stages"), list)):
        return section
    stages = [{k: v for k, v in s.items() if k not in PATH_KEYS} if isinstance(s, dict) else s
              for s in section["stages"]]
    return {**section, "stages": stages}
