"""PNG of a predicted plan: the pipeline clock's timeline and the per-stage memory breakdown
(matplotlib, Agg). Everything drawn comes from plan.prediction (cost/plan_predict.py timeline_of), so
the picture and the numbers of report.md / predict are one story."""

from __future__ import annotations

import io

from mist_ds.config import Plan
from mist_ds.cost.plan_predict import timeline_of
from mist_ds.emit.readable import MEMORY_UNITS, TIME_UNITS, bytes_text, pick_unit, seconds_text

_COLOURS = {"F": "#4C72B0", "B": "#DD8452", "step": "#55A868"}
_LABELS = {"F": "forward", "B": "backward (+ recompute)", "step": "grad sync + optimizer"}
_MEMORY_KINDS = (("weights_bytes", "weights"), ("gradients_bytes", "gradients"),
                 ("optimizer_states_bytes", "optimizer states"), ("activations_bytes", "activations"),
                 ("buffers_bytes", "buffers"))


def plan_png(plan: Plan, memory_cap_bytes: int) -> bytes:
    """PNG bytes of plan_figure."""
    buffer = io.BytesIO()
    plan_figure(plan, memory_cap_bytes).savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def plan_figure(plan: Plan, memory_cap_bytes: int):
    """matplotlib Figure (Agg): left, the predicted timeline of one iteration; right, peak memory by kind
    per stage; one legend for both below them (constrained layout keeps it off the bars and the axis
    labels)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 3.2 + 0.5 * plan.num_stages), dpi=100, layout="constrained")
    timeline, memory = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    _draw_timeline(timeline, plan)
    _draw_memory(memory, plan, memory_cap_bytes)
    handles, labels = [], []
    for ax in (timeline, memory):
        more_handles, more_labels = ax.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    fig.legend(handles, labels, loc="outside lower center", ncol=5, fontsize=8, frameon=False)
    fig.suptitle(f"{plan.model.name}: {plan.describe()}")
    return fig


def _draw_timeline(ax, plan: Plan) -> None:
    clock = timeline_of(plan)
    unit = pick_unit(clock.iteration_s, TIME_UNITS)
    # One broken_barh per (kind, stage): thousands of micro-batches draw in one call each.
    for kind, label in _LABELS.items():
        for stage in range(plan.num_stages):
            ranges = [(s.start_s / unit.scale, s.duration_s / unit.scale) for s in clock.slots
                      if s.kind == kind and s.stage == stage]
            if ranges:
                ax.broken_barh(ranges, (stage - 0.4, 0.8), facecolors=_COLOURS[kind],
                               edgecolor="white", linewidth=0.3, label=label if stage == 0 else None)
    ax.set_yticks(range(plan.num_stages))
    ax.set_yticklabels([f"stage {i}" for i in range(plan.num_stages)])
    ax.invert_yaxis()
    ax.set_xlabel(f"time, {unit.name} (predicted: {seconds_text(clock.iteration_s)} per iteration)")
    ax.set_title("one iteration (DeepSpeed 1F1B schedule)")


# A cap more than this many times the tallest bar is named in the title instead of drawn (the bars
# would be flat lines under it).
CAP_SCALE_LIMIT = 4.0


def _draw_memory(ax, plan: Plan, memory_cap_bytes: int) -> None:
    stages = plan.prediction.stages
    tallest = max(s.peak_memory_bytes for s in stages)
    draw_cap = memory_cap_bytes <= CAP_SCALE_LIMIT * tallest
    unit = pick_unit(max(tallest, memory_cap_bytes if draw_cap else 0), MEMORY_UNITS)
    bottoms = [0.0] * len(stages)
    for field, label in _MEMORY_KINDS:
        heights = [getattr(s.memory_breakdown, field) / unit.scale for s in stages]
        ax.bar(range(len(stages)), heights, bottom=bottoms, label=label)
        bottoms = [b + h for b, h in zip(bottoms, heights)]
    top = max(bottoms)
    if draw_cap:
        ax.axhline(memory_cap_bytes / unit.scale, color="red", linestyle="--", label="memory cap per GPU")
        top = max(top, memory_cap_bytes / unit.scale)
    ax.set_xticks(range(len(stages)))
    ax.set_xticklabels([str(i) for i in range(len(stages))])
    ax.set_xlabel("stage")
    ax.set_ylabel(f"peak {unit.name} per GPU")
    ax.set_ylim(0, top * 1.08)
    ax.set_title("memory" if draw_cap else f"memory (cap {bytes_text(memory_cap_bytes)}, off scale)")
