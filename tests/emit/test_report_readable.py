"""What people read: readable units (no '0.000 s' / '0.0 GiB' for tiny models), the legend under the
plans table, "peak ... per GPU", the host section with its headroom per node, and a plan.png legend
that covers no bars."""

from __future__ import annotations

import re

import pytest

from mist_ds.api import tune
from mist_ds.config import SearchSpace, ClusterSpec, ModelSpec, TuneRequest, resolve_model
from mist_ds.config.profiles import load_hardware
from mist_ds.config.units import GIB
from mist_ds.emit.host import node_offload_bytes
from mist_ds.emit.plot import plan_figure
from mist_ds.emit.readable import MEMORY_UNITS, TIME_UNITS, bytes_text, in_unit, pick_unit, seconds_text
from mist_ds.emit.report import legend_line, memory_cap, report_markdown

HW = load_hardware("h100-sxm-80gb")
TINY = ModelSpec(name="tiny", family="gpt", num_layers=2, hidden_size=64, num_heads=4, num_kv_heads=4,
                 ffn_hidden_size=256, vocab_size=512, max_seq_len=128, tie_embeddings=True, norm="layernorm",
                 activation="gelu", position_embedding="learned", linear_bias=True)


@pytest.mark.parametrize(("value", "units", "text"), [
    (7.3215e-3, TIME_UNITS, "7.32 ms"), (29.1e-3, TIME_UNITS, "29.1 ms"), (7.1, TIME_UNITS, "7.10 s"),
    (1234.5, TIME_UNITS, "1234 s"), (4.2e-5, TIME_UNITS, "42.0 us"), (0.0, TIME_UNITS, "0 us"),
    (59.2 * GIB, MEMORY_UNITS, "59.2 GiB"), (139.8 * GIB, MEMORY_UNITS, "139.8 GiB"),
    (300 * 2**20, MEMORY_UNITS, "300.0 MiB"), (-12.5 * GIB, MEMORY_UNITS, "-12.5 GiB"), (512, MEMORY_UNITS, "512.0 B"),
])
def test_values_read_in_their_own_unit(value, units, text):
    shown = seconds_text(value) if units is TIME_UNITS else bytes_text(value)
    assert shown == text


def test_a_column_uses_the_unit_of_its_largest_value():
    unit = pick_unit(0.5, TIME_UNITS)
    assert unit.name == "ms" and in_unit(0.002, unit) == "2.00" and in_unit(0.5, unit) == "500.0"


@pytest.fixture(scope="module")
def tiny_result():
    request = TuneRequest(model=TINY, cluster=ClusterSpec(num_nodes=1, gpus_per_node=2), global_batch_size=4,
                          seq_len=64)
    return tune(request, HW, top_k=3)


def test_tiny_model_report_has_no_zero_seconds_or_gib(tiny_result):
    report = report_markdown(tiny_result.plans, HW, tiny_result.stats)
    assert not re.search(r"\b0\.0+ (s|GiB)\b", report)
    assert re.search(r"\| (ms|us)/iter \|", report) and "peak MiB per GPU" in report
    # the legend sits right under the plans table
    table_end = report.index("\n\n", report.index("## Top plans\n\n") + len("## Top plans\n\n"))
    assert report[table_end + 2:].startswith(legend_line())


def test_legend_explains_every_short_setting_token(tiny_result):
    short = tiny_result.plans[0].describe(short=True)  # e.g. 'pp1 dp2 tp1 mb2 ga1 Z1'
    for token in re.findall(r"[a-zA-Z]+", short) + ["opt", "w"]:
        assert re.search(rf"\b{token} ", legend_line()), token


def test_host_section_shows_the_limits_used_and_the_headroom_per_node():
    request = TuneRequest(model=resolve_model("llama-7b"), cluster=ClusterSpec(num_nodes=1, gpus_per_node=4),
                          global_batch_size=64, seq_len=4096, gpu_memory_cap_bytes=40 * GIB,
                          host_memory_bytes=512 * GIB, host_memory_margin_bytes=10 * GIB,
                          space=SearchSpace(pipeline=False, tensor_parallel=False))  # a winner that offloads
    result = tune(request, HW, top_k=1)
    plan = result.plans[0]
    report = report_markdown(result.plans, HW, result.stats, request.host_limits(HW))
    assert "memory 512.0 GiB (--host-memory-gb)" in report
    assert f"CPU cores {HW.host_cpu_cores} (hardware profile `{HW.name}`; --cpu-cores overrides)" in report
    per_gpu = plan.prediction.stages[0].cpu_memory_bytes
    assert per_gpu > 0 and node_offload_bytes(plan) == [[per_gpu] * 4]
    # headroom by hand: 80% of 512 GiB (20% kept free) - 4 x (offloaded state + 10 GiB margin)
    assert "the node keeps 20% of its memory free (--host-memory-free): offloaded state may take 409.6 GiB" in report
    headroom = 0.8 * 512 * GIB - 4 * (per_gpu + 10 * GIB)
    assert f"| 0 | {bytes_text(4 * per_gpu)} | {bytes_text(4 * (per_gpu + 10 * GIB))} | {bytes_text(headroom)} |" in report
    # without the request's limits the report says they are the profile's
    assert f"memory {bytes_text(HW.host_memory_bytes)} (hardware profile" in report_markdown(result.plans, HW)


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("case", ["tiny", "pipeline"])
def test_plan_png_legend_covers_no_axes(case, tiny_result):
    if case == "tiny":
        plan = tiny_result.plans[0]
    else:
        request = TuneRequest(model=resolve_model("gpt-1.3b"), cluster=ClusterSpec(num_nodes=1, gpus_per_node=4),
                              global_batch_size=32, seq_len=2048)
        plan = next(p for p in tune(request, HW, top_k=20).plans if p.num_stages > 1)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plan_figure(plan, memory_cap(plan, HW))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        assert not _overlaps(box, ax.get_tightbbox(renderer)), ax.get_title()
    assert len(legend.get_texts()) >= 8  # 3 timeline kinds + 5 memory kinds (+ the cap when drawn)
