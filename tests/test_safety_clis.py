"""predict and compare on mist_ds.cli's one error path (predict: autotune's request and card checks,
headroom, the margin warning); the `mist-ds` console script's dispatch."""

from __future__ import annotations

import json

import pytest

from mist_ds import predict
from mist_ds.cli import COMMANDS, console_main
from mist_ds.config import Plan, get_preset
from mist_ds.config.profiles import load_hardware
from mist_ds.config.units import GIB
from tests.helpers import make_plan
from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO

HW = load_hardware("h100-sxm-80gb")


def _plan(cap_gib=None) -> Plan:
    model = get_preset("llama-1.3b")
    return make_plan(model, [{"end": model.num_layers}], dp=2, micro_batch=1, global_batch=16, seq_len=2048,
                     gpu_memory_cap_bytes=None if cap_gib is None else int(cap_gib * GIB))


def _save(tmp_path, plan: Plan):
    path = tmp_path / "plan.json"
    path.write_text(plan.to_json())
    return str(path)


def test_predict_shows_headroom_against_the_cap(tmp_path, capsys):
    assert predict.main([_save(tmp_path, _plan(cap_gib=60)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    peak = max(s["peak_memory_bytes"] for s in out["stages"])
    assert out["peak_memory_bytes"] == peak and out["headroom_bytes"] == 60 * GIB - peak


def test_predict_refuses_a_cap_above_the_card_unless_forced(tmp_path, capsys):
    path = _save(tmp_path, _plan(cap_gib=500))
    assert predict.main([path, "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force-memory" in err
    assert predict.main([path, "--json", "--force-memory"]) == 0


def test_predict_warns_inside_the_margin_and_fails_over_the_cap(tmp_path, capsys):
    assert predict.main([_save(tmp_path, _plan()), "--json"]) == 0
    peak = json.loads(capsys.readouterr().out)["peak_memory_bytes"]
    tight = peak / (1 - DEFAULT_MEMORY_MARGIN_RATIO / 2) / GIB  # half the default margin free: inside it
    assert predict.main([_save(tmp_path, _plan(cap_gib=tight)), "--json"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning:") and f"{DEFAULT_MEMORY_MARGIN_RATIO:.0%} margin" in err
    assert predict.main([_save(tmp_path, _plan(cap_gib=peak * 0.9 / GIB)), "--json"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: stage 0") and "over the" in err


def test_predict_applies_the_request_checks(tmp_path, capsys):
    model = get_preset("llama-1.3b")  # a valid plan whose batch is above TuneRequest's MAX_GLOBAL_BATCH
    plan = make_plan(model, [{"end": model.num_layers}], dp=2, micro_batch=1, global_batch=2**21, seq_len=2048)
    assert predict.main([_save(tmp_path, plan)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "global_batch_size" in err


def test_console_script_dispatches_and_refuses_in_one_line(tmp_path, capsys):
    assert set(COMMANDS) == {"autotune", "predict", "compare", "profile", "calibrate", "run"}
    assert console_main(["predict", _save(tmp_path, _plan()), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["iteration_time_s"] > 0
    for argv, needle in ((["frobnicate"], "unknown command"), (["predict"], "required"),
                         (["compare", "a.json", "b.json"], "does not exist")):
        assert console_main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err


def test_console_script_calibrate_runs_or_says_it_is_missing(capsys):
    import importlib.util

    code = console_main(["calibrate", "--help"])
    if importlib.util.find_spec("mist_ds.calibrate") is None:
        assert code == 2 and "not available" in capsys.readouterr().err
    else:
        assert code == 0


@pytest.mark.parametrize("argv", [["--help"], []])
def test_console_script_usage(argv, capsys):
    assert console_main(argv) == (0 if argv else 2)
    assert "mist-ds {autotune|predict|compare|profile|calibrate|run}" in capsys.readouterr().out
