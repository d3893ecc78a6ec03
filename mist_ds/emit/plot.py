"""PNG of a predicted plan: the pipeline clock's timeline and the per-stage memory breakdown
(matplotlib, Agg). Everything drawn comes from plan.prediction (cost/plan_predict.py timeline_of), so
the picture and the numbers of report.md / predict are one story."""

from __future__ import annotations

import io

from mist_ds.config import Plan
from mist_ds.config.units import GIB
from mist_ds.cost.plan_predict import timeline_of

_COLOURS = {"F": "#4C72B0", "B": "#DD8452", "step": "#55A868"}
_LABELS = {"F": "forward", "B": "backward (+ recompute)", "step": "grad sync + optimizer"}
_MEMORY_KINDS = (("weights_bytes", "weights"), ("gradients_bytes", "gradients"),
                 ("optimizer_states_bytes", "optimizer states"), ("activations_bytes", "activations"),
                 ("buffers_bytes", "buffers"))


def plan_png(plan: Plan, memory_cap_bytes: int) -> bytes:
    """PNG bytes: left, the predicted timeline of one iteration; right, peak memory by kind per stage."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 2.6 + 0.5 * plan.num_stages), dpi=100)
    timeline, memory = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    _draw_timeline(timeline, plan)
    _draw_memory(memory, plan, memory_cap_bytes)
    fig.suptitle(f"{plan.model.name}: {plan.describe()}")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _draw_timeline(ax, plan: Plan) -> None:
    clock = timeline_of(plan)
    # One broken_barh per (kind, stage): thousands of micro-batches draw in one call each.
    for kind, label in _LABELS.items():
        for stage in range(plan.num_stages):
            ranges = [(s.start_s, s.duration_s) for s in clock.slots if s.kind == kind and s.stage == stage]
            if ranges:
                ax.broken_barh(ranges, (stage - 0.4, 0.8), facecolors=_COLOURS[kind],
                               edgecolor="white", linewidth=0.3, label=label if stage == 0 else None)
    ax.set_yticks(range(plan.num_stages))
    ax.set_yticklabels([f"stage {i}" for i in range(plan.num_stages)])
    ax.invert_yaxis()
    ax.set_xlabel(f"seconds (predicted: {clock.iteration_s:.3f} s per iteration)")
    ax.set_title("one iteration (DeepSpeed 1F1B schedule)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, fontsize=8, frameon=False)


def _draw_memory(ax, plan: Plan, memory_cap_bytes: int) -> None:
    stages = plan.prediction.stages
    bottoms = [0.0] * len(stages)
    for field, label in _MEMORY_KINDS:
        heights = [getattr(s.memory_breakdown, field) / GIB for s in stages]
        ax.bar(range(len(stages)), heights, bottom=bottoms, label=label)
        bottoms = [b + h for b, h in zip(bottoms, heights)]
    ax.axhline(memory_cap_bytes / GIB, color="red", linestyle="--", label="memory cap")
    ax.set_xticks(range(len(stages)))
    ax.set_xticklabels([str(i) for i in range(len(stages))])
    ax.set_xlabel("stage")
    ax.set_ylabel("peak GiB per GPU")
    ax.set_ylim(0, max(memory_cap_bytes / GIB, max(bottoms)) * 1.05)
    ax.set_title("memory")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, fontsize=7, frameon=False)
