"""report.md: the plan, its per-stage breakdown, the alternatives compared, and why it wins.

Rendered from predicted Plans alone (plus optional search statistics), so `autotune` and
`predict --out` write the same report for a tuned or a hand-written plan.
"""

from __future__ import annotations

from collections.abc import Sequence

from mist_ds.config import HardwareProfile, Plan
from mist_ds.config.units import GIB
from mist_ds.search import SearchStats

TIME_KINDS = ("compute_s", "recompute_s", "tp_comm_s", "dp_comm_s", "offload_s", "optimizer_s", "pipeline_s")


def _gib(value: float) -> str:
    return f"{value / GIB:.2f}"


def layer_range(start: int, end: int) -> str:
    """The one spelling of a stage's layers in every output: half-open, as StagePlan stores them."""
    return f"[{start}, {end})"


def split_text(plan: Plan) -> str:
    """Layers per stage, e.g. '16/16'."""
    return "/".join(str(s.num_layers) for s in plan.stages)


def recompute_text(plan: Plan) -> str:
    """Recomputed layers per stage."""
    return "/".join(str(s.num_recompute_layers) for s in plan.stages)


def offload_text(plan: Plan) -> str:
    """Activation-offloaded layers per stage."""
    return "/".join(str(s.num_offloaded_layers) for s in plan.stages)


def peak_bytes(plan: Plan) -> int:
    """The plan's predicted peak per GPU (its worst stage)."""
    return max(s.peak_memory_bytes for s in plan.prediction.stages)


def memory_cap(plan: Plan, hardware: HardwareProfile) -> int:
    """The per-GPU memory the plan must fit."""
    return plan.gpu_memory_cap_bytes or hardware.gpu_memory_bytes


def _header(plan: Plan, hardware: HardwareProfile) -> list[str]:
    model, cluster = plan.model, plan.cluster
    cap_text = f"{_gib(memory_cap(plan, hardware))} GiB" + (
        " (plan's gpu_memory_cap_bytes)" if plan.gpu_memory_cap_bytes else f" (whole {hardware.gpu_name})")
    return [
        f"# mist_ds plan: {model.name} on {cluster.num_nodes} x {cluster.gpus_per_node} GPUs", "",
        f"- model: {model.name}, {model.num_params / 1e9:.2f} B parameters, {model.num_layers} layers",
        f"- cluster: {cluster.num_nodes} node(s) x {cluster.gpus_per_node} GPUs, hardware profile "
        f"`{hardware.name}` ({hardware.provenance.source})",
        f"- global batch {plan.global_batch_size} sequences x {plan.seq_len} tokens, {plan.dtype}, "
        f"attention `{plan.attention}`, executor `{plan.executor}`",
        f"- per-GPU memory cap: {cap_text}", "",
    ]


def _stage_tables(plan: Plan) -> list[str]:
    pred = plan.prediction
    lines = ["| stage | layers | recompute | act offload | peak GiB | weights | gradients | optimizer | "
             "activations | buffers | CPU GiB |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for index, (stage, sp) in enumerate(zip(plan.stages, pred.stages)):
        m = sp.memory_breakdown
        lines.append(f"| {index} | {layer_range(stage.layer_start, stage.layer_end)} | {stage.num_recompute_layers} | "
                     f"{stage.num_offloaded_layers} | {_gib(sp.peak_memory_bytes)} | {_gib(m.weights_bytes)} | "
                     f"{_gib(m.gradients_bytes)} | {_gib(m.optimizer_states_bytes)} | {_gib(m.activations_bytes)} | "
                     f"{_gib(m.buffers_bytes)} | {_gib(sp.cpu_memory_bytes)} |")
    lines += ["", "Seconds per iteration by activity (exposed time):", "",
              "| stage | " + " | ".join(k.removesuffix("_s") for k in TIME_KINDS) + " |",
              "|---" * (len(TIME_KINDS) + 1) + "|"]
    for index, sp in enumerate(pred.stages):
        values = " | ".join(f"{getattr(sp.time_breakdown, k):.3f}" for k in TIME_KINDS)
        lines.append(f"| {index} | {values} |")
    return lines + [""]


def _winner(plan: Plan) -> list[str]:
    pred = plan.prediction
    return ["## Plan", "",
            f"**{plan.describe()}**, layers per stage {split_text(plan)}, recomputed layers per stage "
            f"{recompute_text(plan)}, activation-offloaded layers per stage {offload_text(plan)}.", "",
            f"Predicted: {pred.iteration_time_s:.3f} s per iteration, {pred.throughput_tokens_per_s:,.0f} tokens/s, "
            f"MFU {pred.mfu:.1%}, peak {_gib(peak_bytes(plan))} GiB per GPU.", "", *_stage_tables(plan)]


def _top_k(plans: Sequence[Plan]) -> list[str]:
    best = plans[0].prediction.iteration_time_s
    lines = ["## Top plans", "",
             "| rank | setting | layers/stage | recompute | act offload | s/iter | tokens/s | MFU | peak GiB/GPU "
             "| vs best |", "|---|---|---|---|---|---|---|---|---|---|"]
    for rank, plan in enumerate(plans, start=1):
        pred = plan.prediction
        lines.append(f"| {rank} | {plan.describe()} | {split_text(plan)} | {recompute_text(plan)} | "
                     f"{offload_text(plan)} | {pred.iteration_time_s:.3f} | {pred.throughput_tokens_per_s:,.0f} | "
                     f"{pred.mfu:.1%} | {_gib(peak_bytes(plan))} | {pred.iteration_time_s / best - 1:+.1%} |")
    return lines + [""]


def _pacing_totals(plan: Plan) -> dict[str, float]:
    """Per-activity seconds of the stage that sets the pace (most compute + recompute + TP comm)."""
    stages = plan.prediction.stages
    pace = max(range(len(stages)), key=lambda i: stages[i].time_breakdown.compute_s
               + stages[i].time_breakdown.recompute_s + stages[i].time_breakdown.tp_comm_s)
    return {k: getattr(stages[pace].time_breakdown, k) for k in TIME_KINDS}


def _mesh(plan: Plan) -> tuple:
    return (plan.num_stages, plan.dp, plan.tp, plan.micro_batch_size, plan.memory.zero_stage)


def savings_text(plan: Plan) -> str:
    """The memory savings a plan uses, in words."""
    used, m = [], plan.memory
    if sum(s.num_recompute_layers for s in plan.stages):
        used.append(f"recomputes {sum(s.num_recompute_layers for s in plan.stages)} layers")
    if m.offload_weights_ratio:
        used.append("offloads the weights")
    if m.offload_optimizer_ratio:
        used.append(f"offloads {m.offload_optimizer_ratio:g} of the optimizer states and gradients")
    if any(s.num_offloaded_layers for s in plan.stages):
        used.append("offloads activations")
    return ", ".join(used) if used else "needs no recompute or offload"


def _why(plans: Sequence[Plan], hardware: HardwareProfile) -> list[str]:
    plan = plans[0]
    headroom = memory_cap(plan, hardware) - peak_bytes(plan)
    lines = ["## Why this plan", "",
             f"- Memory: it peaks at {_gib(peak_bytes(plan))} GiB per GPU, {_gib(headroom)} GiB under the cap, "
             f"and {savings_text(plan)}."]
    if len(plans) == 1:
        return lines + ["- No alternative is listed.", ""]
    others = [p for p in plans[1:] if _mesh(p) != _mesh(plan)]
    label = "The best listed plan with another mesh, micro-batch or ZeRO stage" if others else "The runner-up"
    other = (others or list(plans[1:]))[0]
    gap = other.prediction.iteration_time_s / plan.prediction.iteration_time_s - 1
    lines.append(f"- {label} ({other.describe()}, layers {split_text(other)}; it {savings_text(other)}) "
                 f"is {gap:.1%} slower.")
    mine, theirs = _pacing_totals(plan), _pacing_totals(other)
    diffs = sorted(((theirs[k] - mine[k], k) for k in TIME_KINDS), reverse=True)
    parts = [f"{k.removesuffix('_s')} {d:+.3f} s" for d, k in diffs if abs(d) >= 5e-4]
    if parts:
        lines.append("- On its pacing stage it spends, per iteration, vs this plan: " + ", ".join(parts) + ".")
    return lines + [""]


def report_markdown(plans: Sequence[Plan], hardware: HardwareProfile, stats: SearchStats | None = None) -> str:
    """The whole report.md text for predicted `plans` (best first; deterministic: no timestamps)."""
    lines = _header(plans[0], hardware) + _winner(plans[0]) + _top_k(plans) + _why(plans, hardware)
    lines += ["## Run it", "",
              "`./launch.sh --steps 20 --report run.json` (DeepSpeed with this folder's hostfile, plan.json and "
              "ds_config.json); `python -m mist_ds.predict plan.json` prints the same prediction.", ""]
    if stats is not None:
        lines += ["## Search", "",
                  f"{stats.num_layouts} layouts (pipeline depth x mesh x micro-batch x ZeRO/offload), "
                  f"{stats.num_strategies} stage strategies screened by the cost model; exact layer split and "
                  "per-stage recompute by dynamic programming (mist_ds/search/partition.py); plans ranked by the "
                  "pipeline clock (mist_ds/cost/pipeline.py).", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
