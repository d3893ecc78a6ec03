"""PNG of a plan: the 1F1B pipeline timeline and the per-stage memory breakdown (matplotlib, Agg)."""

from __future__ import annotations

import io

from mist_ds.config import Plan
from mist_ds.emit.timeline import simulate_1f1b

GIB = 1024**3
_COLOURS = {"F": "#4C72B0", "B": "#DD8452", "step": "#55A868"}
_MEMORY_KINDS = (("weights_bytes", "weights"), ("gradients_bytes", "gradients"),
                 ("optimizer_states_bytes", "optimizer states"), ("activations_bytes", "activations"),
                 ("buffers_bytes", "buffers"))


def plan_png(plan: Plan, memory_cap_bytes: int, stable_s: list[float], delta_s: list[float]) -> bytes:
    """PNG bytes: left, the timeline of one iteration; right, peak memory by kind per stage."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 1.6 + 0.5 * plan.num_stages + 2), dpi=100)
    timeline, memory = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    _draw_timeline(timeline, plan, stable_s, delta_s)
    _draw_memory(memory, plan, memory_cap_bytes)
    fig.suptitle(f"{plan.model.name}: {plan.num_stages} stage(s), dp {plan.stages[0].dp}, "
                 f"tp {plan.stages[0].tp}, micro-batch {plan.stages[0].micro_batch_size}, "
                 f"grad accum {plan.grad_accum_steps}, ZeRO-{plan.stages[0].zero_stage}")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _draw_timeline(ax, plan: Plan, stable_s: list[float], delta_s: list[float]) -> None:
    slots = simulate_1f1b(stable_s, delta_s, plan.grad_accum_steps)
    labels = {"F": "forward", "B": "backward", "step": "grad sync + optimizer"}
    # One broken_barh per (kind, stage): thousands of micro-batches draw in one call each, not one each.
    for kind, label in labels.items():
        for stage in range(plan.num_stages):
            ranges = [(s.start_s, s.duration_s) for s in slots if s.kind == kind and s.stage == stage]
            if ranges:
                ax.broken_barh(ranges, (stage - 0.4, 0.8), facecolors=_COLOURS[kind],
                               edgecolor="white", linewidth=0.3, label=label if stage == 0 else None)
    ax.set_yticks(range(plan.num_stages))
    ax.set_yticklabels([f"stage {i}" for i in range(plan.num_stages)])
    ax.invert_yaxis()
    ax.set_xlabel("seconds (predicted)")
    ax.set_title("one iteration, 1F1B")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8)


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
    ax.set_ylabel("GiB per GPU at peak")
    ax.set_title("memory")
    ax.legend(fontsize=7)
