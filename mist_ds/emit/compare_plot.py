"""PNG of a predicted-vs-measured comparison (`python -m mist_ds.compare PLAN RUN --plot FILE.png`):
left, each stage's peak GPU memory predicted vs measured (allocated and reserved); right, the
iteration time predicted (by activity, on the stage that sets the pace) vs measured. matplotlib, Agg."""

from __future__ import annotations

import io

from mist_ds.config import PlanPrediction
from mist_ds.config.units import GIB

ACTIVITIES = ("compute_s", "recompute_s", "tp_comm_s", "dp_comm_s", "offload_s", "optimizer_s", "pipeline_s")


def comparison_png(result: dict, prediction: PlanPrediction | None) -> bytes:
    """PNG bytes of compare.comparison()'s `result` (with the prediction it used, None: memory only)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.8), dpi=100)
    memory, timing = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    _draw_memory(memory, result["stages"])
    _draw_time(timing, result["iteration_time"], prediction)
    fig.suptitle(f"predicted vs measured: {result['num_gpus']} x {result['gpu_name']} "
                 f"({result['prediction_source']})", fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _draw_memory(ax, stages: list[dict]) -> None:
    width = 0.27
    series = (("predicted_peak_bytes", "predicted"), ("measured_peak_bytes", "allocated"),
              ("measured_reserved_bytes", "reserved"))
    for offset, (key, label) in enumerate(series):
        xs = [s["stage"] + (offset - 1) * width for s in stages]
        ax.bar(xs, [(s[key] or 0) / GIB for s in stages], width, label=label)
    ax.set_xticks([s["stage"] for s in stages])
    ax.set_xlabel("stage")
    ax.set_ylabel("peak GiB per GPU")
    ax.set_title("memory")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, frameon=False)


def _draw_time(ax, times: dict, prediction: PlanPrediction | None) -> None:
    if prediction is not None:
        pace = max(prediction.stages, key=lambda s: s.time_breakdown.compute_s + s.time_breakdown.recompute_s)
        bottom = 0.0
        for key in ACTIVITIES:
            value = getattr(pace.time_breakdown, key)
            ax.bar(0, value, 0.6, bottom=bottom, label=key.removesuffix("_s"))
            bottom += value
    if times["measured_s"] is not None:
        ax.bar(1, times["measured_s"], 0.6, color="grey", label="measured")
    ax.set_xticks([0, 1])
    ax.set_xticklabels(["predicted", "measured"])
    ax.set_ylabel("seconds per iteration")
    ax.set_title("time (predicted: by activity)")
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, frameon=False)
