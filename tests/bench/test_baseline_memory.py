"""The baseline grid's memory estimate (bench/baseline/memory.py), its safety factor against the committed
baseline runs, and the grid's run order (bench/baseline/grid.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.baseline import memory
from bench.baseline.grid import WORKLOADS, Config, Workload, grid, skip_reason, untried
from mist_ds.config.units import GIB

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted(p for p in (ROOT / "bench" / "results" / "baseline").glob("*/*.json") if p.parent.name in WORKLOADS)
OOM_SKIPPED = {"gpt6.7b-2g-c78-s4096-b32": {"z1-mb1-nockpt", "z2-mb1-nockpt", "z3-mb2-nockpt"},
               "llama7b-2g-c78-s4096-b32": {"z1-mb1-nockpt", "z2-mb1-nockpt", "z3-mb2-nockpt"},
               "llama2.7b-1g-c78-s4096-b16": {"z0-mb4-nockpt"}}


def _point(path: Path) -> tuple[Workload, Config, dict]:
    result = json.loads(path.read_text())
    c = result["baseline_config"]
    return (WORKLOADS[path.parent.name], Config(c["zero"], c["micro_batch"], c["checkpointing"],
                                                c["offload_optimizer"]), result)


def _ratio(w: Workload, c: Config) -> float:
    """Estimate over the cap."""
    est = memory.estimate_bytes(w.spec(), w.seq_len, c.micro_batch, c.zero, w.num_gpus, c.checkpointing, c.offload)
    return est / (w.cap_gib * GIB)


def test_formulas_against_hand_numbers():
    s, b, h, a, L, V = 1024, 2, 512, 8, 4, 1000
    # Korthikanti et al. eq. 1: sbh(34 + 5as/h); 5*8*1024/512 = 80
    assert memory.layer_activation_bytes(s, b, h, a, flash=False) == 1024 * 2 * 512 * (34 + 80) == 119_537_664
    assert memory.layer_activation_bytes(s, b, h, a) == 1024 * 2 * 512 * 34 == 35_651_584
    assert memory.loss_bytes(s, b, V) == 12 * 1024 * 2 * 1000 == 24_576_000
    assert memory.activation_bytes(s, b, h, a, L, V, checkpointing=False) == 4 * 35_651_584 + 24_576_000
    # checkpointing: 2sbh per layer (4 x 2,097,152) + one full layer + loss
    assert memory.activation_bytes(s, b, h, a, L, V, checkpointing=True) == 8_388_608 + 35_651_584 + 24_576_000
    assert memory.model_states_bytes(1000, 1, 2, False) == 2000 + 2000 + 8000


def test_committed_runs_cover_ok_and_oom():
    statuses = [_point(p)[2]["status"] for p in COMMITTED]
    assert statuses.count("ok") >= 10 and statuses.count("oom") >= 8


def _prunable(config: Config) -> bool:
    """Whether the estimate can prune the point: grid.py skip_reason applies it only without checkpointing."""
    return not config.checkpointing


def test_no_committed_ok_point_is_skipped():
    ok = [(p, _point(p)) for p in COMMITTED if _point(p)[2]["status"] == "ok"]
    prunable = [item for item in ok if _prunable(item[1][1])]
    tightest, (w, c, _) = max(prunable, key=lambda item: _ratio(*item[1][:2]))
    ratio = _ratio(w, c)
    margin_gib = (memory.SAFETY_FACTOR - ratio) * w.cap_gib
    print(f"tightest ok point {tightest.parent.name}/{tightest.stem}: estimate {ratio:.3f} x cap, "
          f"{margin_gib:.1f} GiB ({memory.SAFETY_FACTOR / ratio - 1:.1%}) below {memory.SAFETY_FACTOR} x cap")
    assert margin_gib > 2.0  # never skip a point the evidence says fits, with room to spare
    for path, (w, c, _) in ok:
        assert skip_reason(w, c, {}) is None, path


def test_committed_oom_points_are_skipped():
    skipped = {}
    for path in COMMITTED:
        w, c, result = _point(path)
        if result["status"] == "oom":
            reason = skip_reason(w, c, {})
            if reason is not None:
                assert "Korthikanti" in reason and "sbh*34" in reason
                skipped.setdefault(path.parent.name, set()).add(path.stem)
    assert skipped == OOM_SKIPPED


def test_ok_points_are_below_every_oom_point():
    """The estimate orders the committed points: every ok point below every OOM point (what the factor needs)."""
    points = [_point(p) for p in COMMITTED if _prunable(_point(p)[1])]
    ok = max(_ratio(w, c) for w, c, r in points if r["status"] == "ok")
    oom = min(_ratio(w, c) for w, c, r in points if r["status"] == "oom")
    assert ok < memory.SAFETY_FACTOR < oom


def test_zero3_runs_after_zero_0_to_2():
    w = WORKLOADS["llama7b-2g-c78-s4096-b32"]
    names = [c.name for c in grid(w)]
    assert names[:4] == ["z0-mb1-nockpt", "z0-mb2-nockpt", "z0-mb4-nockpt", "z0-mb8-nockpt"]
    assert names.index("z2-mb8-ckpt") < names.index("z3-mb1-nockpt") == 24
    assert names[24:] == [f"z3-mb{mb}-{ck}" for ck in ("nockpt", "ckpt") for mb in (1, 2, 4, 8)]
    assert names.index("z2-mb8-nockpt") < names.index("z0-mb1-ckpt")  # checkpointing off first within ZeRO 0-2
    assert [c.name for c in grid(w, offload=True)][:1] == ["z2-mb1-ckpt-offload"]


def test_a_resumed_offload_grid_offers_its_remaining_offload_points():
    w = WORKLOADS["llama7b-2g-c40-s4096-b32"]
    done = {"z2-mb4-ckpt-offload": {"status": "ok", "baseline_config": {
        "zero": 2, "micro_batch": 4, "checkpointing": True, "offload_optimizer": True}}}
    left = untried(w, done)
    assert "z2-mb4-ckpt-offload" not in left and {"z2-mb8-ckpt-offload", "z3-mb1-ckpt-offload"} <= set(left)
    assert not any(name.endswith("ckpt") or name.endswith("nockpt") for name in left)  # model states > 40 GiB


def test_offload_phase_keeps_the_command_lines_narrowing():
    w = WORKLOADS["llama13b-2g-c78-s4096-b32"]
    assert [c.name for c in grid(w, zeros=(1, 2), micro_batches=(4,), offload=True)] == ["z2-mb4-ckpt-offload"]
    assert [c.name for c in grid(w, zeros=(0, 1), offload=True)] == []


def test_first_points_run_on_the_committed_workloads():
    """What a fresh call (nothing committed) runs first: the committed best of each 78 GiB 7B workload."""
    for name, first in (("llama7b-2g-c78-s4096-b32", "z1-mb1-ckpt"), ("gpt6.7b-2g-c78-s4096-b32", "z1-mb1-ckpt"),
                        ("llama2.7b-1g-c78-s4096-b16", "z0-mb1-nockpt")):
        w = WORKLOADS[name]
        assert next(c.name for c in grid(w) if skip_reason(w, c, {}) is None) == first


def test_no_cap_never_skips():
    w = Workload("llama-7b", 2, None, 4096, 32)
    assert all(skip_reason(w, c, {}) is None for c in grid(w))


def test_the_estimate_never_prunes_a_checkpointed_point():
    """llama3-8b at seq 8192: ZeRO-3 mb 1 with checkpointing is estimated at 1.15 x cap (11.7 GiB of it the fp32
    loss of the 128k vocabulary), beyond the evidence (seq 4096, vocab 32000): checkpointed points are left to the
    OOM dominance, so the baseline's likely best points always run; without checkpointing the estimate prunes."""
    w = WORKLOADS["llama3-8b-2g-c78-s8192-b16"]
    assert _ratio(w, Config(3, 1, True)) == pytest.approx(1.149, abs=0.001)
    assert skip_reason(w, Config(3, 1, True), {}) is None
    assert "estimated" in skip_reason(w, Config(3, 1, False), {})


def test_the_factor_is_a_cli_option():
    from bench.baseline.grid import main

    w = WORKLOADS["llama3-8b-2g-c78-s8192-b16"]
    assert skip_reason(w, Config(3, 1, False), {}, factor=float("inf")) is None
    assert main(["run", "--workload", "llama7b-2g-c78-s4096-b32", "--out", "x", "--memory-safety-factor", "0"]) == 2
