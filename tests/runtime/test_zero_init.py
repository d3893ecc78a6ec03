"""ZeRO-3 plans build their model under deepspeed.zero.Init (runtime/build.py zero_init_context):
on 2 CPU ranks no rank ever holds the whole model while it is built, each parameter keeps only its
partition, and the RunReport records zero_init. A ZeRO-2 plan (built whole) is the control: the
same watch sees its whole model. The loss curves of ZeRO-3 plans against the stock reference are
test_loss_equivalence.py's pairs (zero0 vs zero3, zero3 vs zero3_param_offload / _half_opt_offload)."""

from __future__ import annotations

import json

import pytest

from mist_ds.config import RunReport

from tests.helpers import free_port, spawn_ranks
from .plans import CASES
from .test_loss_equivalence import ROOT, cpu_env

pytestmark = pytest.mark.distributed


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("zero_init")
    plan, report, out = tmp / "plan.json", tmp / "run.json", tmp / "built.json"
    CASES["zero3"].save(plan)
    proc = spawn_ranks("tests/runtime/zero_init_worker.py", 2, free_port(),
                       ["--out", str(out), "--plan", str(plan), "--report", str(report)],
                       cwd=ROOT, env=cpu_env(), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {**json.loads(out.read_text()), "report": RunReport.load(report)}


@pytest.mark.parametrize("case", ["zero3", "zero3_param_offload", "zero3_param_offload_gpu_optimizer"])
def test_a_zero3_rank_never_holds_the_whole_model(built, case):
    got = built[case]
    assert got["zero_init"] is True
    # the largest module of tiny-gpt is the 256 x 32 token embedding: at most it is whole at once
    assert got["peak_whole_elements"] <= 256 * 32 < got["total_elements"] / 4
    for numel, local in got["partitions"]:
        assert local == -(-numel // 2)  # this rank's half (rounded up), not the whole parameter


def test_the_whole_model_build_is_seen_by_the_same_watch(built):
    got = built["zero2"]
    assert got["zero_init"] is False
    assert got["peak_whole_elements"] == got["total_elements"]


def test_the_run_report_records_zero_init(built):
    report = built["report"]
    assert built["train_exit"] == 0 and report.status == "ok"
    assert report.zero_init is True and len(report.losses) == 2


@pytest.mark.parametrize("case", ["zero3", "zero3_param_offload", "zero3_param_offload_gpu_optimizer"])
def test_the_device_writeback_reads_deepspeeds_zero3_optimizer_and_installs_nothing_on_cpu(built, case):
    """runtime/writeback_cast.py on the installed DeepSpeed's ZeRO-3 optimizer, asked for the 'device' way: the
    partitions it reads exist (a DeepSpeed that renamed them would raise TypeError at build), and on CPU ranks,
    where every fp32 master is on the CPU, no sub-group writes back across devices, so nothing is wrapped and
    nothing is recorded (the GPU side: test_writeback_cast.py's gpu tests, bench/calls/s66_writeback_ab.sh)."""
    got = built[case]
    assert got["sub_groups"] >= 1
    assert got["cross_device_sub_groups"] == 0
    assert got["writeback_cast"] is None and got["reassign_wrapped"] is False
