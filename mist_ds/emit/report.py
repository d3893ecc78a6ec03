"""report.md: the request, the winner's per-stage breakdown, the top-k compared, and why it wins."""

from __future__ import annotations

from mist_ds.config import HardwareProfile, Plan, TuneRequest
from mist_ds.search import Candidate, SearchResult

GIB = 1024**3
_TIME_KINDS = ("compute_s", "recompute_s", "tp_comm_s", "dp_comm_s", "offload_s", "optimizer_s",
               "pipeline_s")


def _gib(value: float) -> str:
    return f"{value / GIB:.2f}"


def _split(candidate: Candidate) -> str:
    return "/".join(str(v) for v in candidate.partition.layers)


def _acts(candidate: Candidate) -> str:
    acts = candidate.partition.act_offload or (0.0,) * len(candidate.partition.layers)
    return "/".join(f"{a:g}" for a in acts)


def _peak(plan: Plan) -> int:
    return max(s.peak_memory_bytes for s in plan.prediction.stages)


def _header(request: TuneRequest, hardware: HardwareProfile, cap: int) -> list[str]:
    model, cluster = request.model, request.cluster
    cap_text = f"{_gib(cap)} GiB" + (" (--memory-gb)" if request.gpu_memory_cap_bytes else
                                     f" (whole {hardware.gpu_name})")
    return [
        f"# mist_ds plan: {model.name} on {cluster.num_nodes} x {cluster.gpus_per_node} GPUs",
        "",
        f"- model: {model.name}, {model.num_params / 1e9:.2f} B parameters, {model.num_layers} layers",
        f"- cluster: {cluster.num_nodes} node(s) x {cluster.gpus_per_node} GPUs, hardware profile "
        f"`{hardware.name}` ({hardware.provenance.source})",
        f"- global batch {request.global_batch_size} sequences x {request.seq_len} tokens, {request.dtype}",
        f"- per-GPU memory cap: {cap_text}",
        "",
    ]


def _winner(candidate: Candidate, plan: Plan) -> list[str]:
    pred = plan.prediction
    lines = [
        "## Winner", "",
        f"**{candidate.layout.describe()}**, layers per stage {_split(candidate)}, recomputed layers "
        f"per stage {'/'.join(str(v) for v in candidate.partition.recompute)}, activation offload "
        f"per stage {_acts(candidate)}.", "",
        f"Predicted: {pred.iteration_time_s:.3f} s per iteration, "
        f"{pred.throughput_tokens_per_s:,.0f} tokens/s, MFU {pred.mfu:.1%}, peak {_gib(_peak(plan))} GiB "
        "per GPU.", "",
        "| stage | layers | recompute | act offload | peak GiB | weights | gradients | optimizer | "
        "activations | buffers | CPU GiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for index, (stage, sp) in enumerate(zip(plan.stages, pred.stages)):
        m = sp.memory_breakdown
        lines.append(
            f"| {index} | {stage.layer_start}-{stage.layer_end - 1} | {stage.num_recompute_layers} | "
            f"{stage.offload_activations_ratio:g} | {_gib(sp.peak_memory_bytes)} | {_gib(m.weights_bytes)} | {_gib(m.gradients_bytes)} | "
            f"{_gib(m.optimizer_states_bytes)} | {_gib(m.activations_bytes)} | {_gib(m.buffers_bytes)} | "
            f"{_gib(sp.cpu_memory_bytes)} |")
    lines += ["", "Seconds per iteration by activity (exposed time):", "",
              "| stage | " + " | ".join(k.removesuffix("_s") for k in _TIME_KINDS) + " |",
              "|---" * (len(_TIME_KINDS) + 1) + "|"]
    for index, sp in enumerate(pred.stages):
        values = " | ".join(f"{getattr(sp.time_breakdown, k):.3f}" for k in _TIME_KINDS)
        lines.append(f"| {index} | {values} |")
    return lines + [""]


def _top_k(ranked: list[tuple[Candidate, Plan]]) -> list[str]:
    best = ranked[0][1].prediction.iteration_time_s
    lines = ["## Top plans", "",
             "| rank | layout | layers/stage | recompute | act offload | s/iter | tokens/s | MFU | peak GiB "
             "| vs best |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for rank, (cand, plan) in enumerate(ranked, start=1):
        pred = plan.prediction
        lines.append(
            f"| {rank} | {cand.layout.describe()} | {_split(cand)} | "
            f"{'/'.join(str(v) for v in cand.partition.recompute)} | {_acts(cand)} | "
            f"{pred.iteration_time_s:.3f} | "
            f"{pred.throughput_tokens_per_s:,.0f} | {pred.mfu:.1%} | {_gib(_peak(plan))} | "
            f"{pred.iteration_time_s / best - 1:+.1%} |")
    return lines + [""]


def _totals(plan: Plan) -> dict[str, float]:
    """Per-activity seconds of the slowest-steady stage (the one that sets the pace)."""
    stages = plan.prediction.stages
    pace = max(range(len(stages)), key=lambda i: stages[i].time_breakdown.compute_s
               + stages[i].time_breakdown.recompute_s + stages[i].time_breakdown.tp_comm_s)
    return {k: getattr(stages[pace].time_breakdown, k) for k in _TIME_KINDS}


def _mesh(candidate: Candidate) -> tuple:
    lay = candidate.layout
    return (lay.num_stages, lay.dp, lay.tp, lay.micro_batch, lay.zero_stage)


def _savings(candidate: Candidate) -> str:
    """The memory savings the plan uses, in words."""
    lay, part = candidate.layout, candidate.partition
    used = []
    if sum(part.recompute):
        used.append(f"recomputes {sum(part.recompute)} layers")
    if lay.offload_weights:
        used.append("offloads the weights")
    if lay.offload_optimizer:
        used.append(f"offloads {lay.offload_optimizer:g} of the optimizer states and gradients")
    if any(part.act_offload):
        used.append("offloads activations")
    return ", ".join(used) if used else "needs no recompute or offload"


def _why(ranked: list[tuple[Candidate, Plan]], cap: int) -> list[str]:
    lines = ["## Why the winner wins", ""]
    winner, plan = ranked[0]
    headroom = cap - _peak(plan)
    lines.append(f"- Memory: the winner peaks at {_gib(_peak(plan))} GiB, {_gib(headroom)} GiB under "
                 f"the cap, and {_savings(winner)}; no faster plan of the search space fits.")
    if len(ranked) == 1:
        return lines + ["- It is the only plan listed.", ""]
    # compare with the best plan of another mesh / batch split / ZeRO stage when the list has one
    others = [entry for entry in ranked[1:] if _mesh(entry[0]) != _mesh(winner)]
    label = "The best listed plan with another mesh, micro-batch or ZeRO stage" if others else "The runner-up"
    other, other_plan = (others or ranked[1:])[0]
    gap = other_plan.prediction.iteration_time_s / plan.prediction.iteration_time_s - 1
    lines.append(f"- {label} ({other.layout.describe()}, layers {_split(other)}; it {_savings(other)}) "
                 f"is {gap:.1%} slower.")
    mine, theirs = _totals(plan), _totals(other_plan)
    diffs = sorted(((theirs[k] - mine[k], k) for k in _TIME_KINDS), reverse=True)
    parts = [f"{k.removesuffix('_s')} {d:+.3f} s" for d, k in diffs if abs(d) >= 5e-4]
    if parts:
        lines.append("- On its pacing stage it spends, per iteration, vs the winner: " + ", ".join(parts) + ".")
    return lines + [""]


def report_markdown(request: TuneRequest, hardware: HardwareProfile,
                    ranked: list[tuple[Candidate, Plan]], result: SearchResult) -> str:
    """The whole report.md text (deterministic: no timestamps)."""
    lines = _header(request, hardware, result.memory_cap_bytes)
    lines += _winner(*ranked[0]) + _top_k(ranked) + _why(ranked, result.memory_cap_bytes)
    lines += ["## Run it", "",
              "`./launch.sh --steps 20 --report run.json` (DeepSpeed with this folder's hostfile and "
              "plan.json); `python -m mist_ds.predict plan.json` prints the same prediction.", ""]
    lines += ["## Search", "",
              f"{result.num_layouts} layouts (pipeline depth x mesh x micro-batch x ZeRO/offload), "
              f"{result.num_strategies} stage strategies screened by the cost model; exact layer "
              "split and per-stage recompute by dynamic programming (mist_ds/search/partition.py).", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
