"""bench/accuracy/crossval.py: folds partition the runs, a fold's fit sees its training runs only,
and the report lists every run once per fold. Fits one or two time terms on a few committed runs."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from bench.accuracy import crossval
from bench.accuracy.report import RESULTS
from bench.accuracy.scoring import NO_EXPANDABLE_SEGMENTS, repo_relative
from mist_ds.calibration import calibrate
from mist_ds.cli import exit_code
from mist_ds.config.profiles import load_hardware

ONE_GPU = ("g13-1g-c40-s2048-z0-mb2", "g13-1g-c40-s2048-z1-mb2", "g27-1g-c78-s2048-z0-mb2",
           "l13b-1g-c40-s2048-z1-mb2")
TWO_GPU = ("l27-2g-c40-tp2-z0-mb2", "l7-2g-c78-tp2-z1-mb1-rc0", "l27-2g-c40-pp2-14x18-z1-rc0x8")
TERMS = ("host_microbatch_overhead_s", "host_step_overhead_s")


@pytest.fixture(scope="module")
def loaded():
    runs, left = crossval.load_runs(RESULTS / "accuracy", RESULTS, "h200")
    return runs, left


@pytest.fixture(scope="module")
def hw():
    return load_hardware("h200")


def subset(runs, names):
    by = {r.name: r for r in runs}
    return [by[n] for n in names]


def test_load_runs_takes_the_reports_finished_runs(loaded):
    runs, left = loaded
    names = [r.name for r in runs]
    assert len(names) == len(set(names)) >= 40
    assert all(r.pair.run.status == "ok" and r.pair.run.median_iteration_time_s for r in runs)
    assert set(ONE_GPU + TWO_GPU) <= set(names)
    assert {r.gpus for r in subset(runs, ONE_GPU)} == {1} and {r.gpus for r in subset(runs, TWO_GPU)} == {2}
    # report.scored's exclusions hold: no run without expandable segments is among them
    assert not {repo_relative(r.pair.run_path) for r in runs} & NO_EXPANDABLE_SEGMENTS
    assert all(": " in line for line in left)


def test_runs_on_another_node_of_the_card_join_on_their_nodes_profile(loaded, hw):
    """The 1-GPU node's runs are in, each predicted on h200-1gpu-node with the profile's run-derived terms."""
    from mist_ds.config.hardware import RUN_DERIVED_FIELDS
    from mist_ds.cost.plan_predict import predict_as_run

    node_runs = [r for r in loaded[0] if r.pair.node is not None]
    assert node_runs and {r.pair.node.name for r in node_runs} == {"h200-1gpu-node"}
    assert all(r.pair.node is None for r in subset(loaded[0], ONE_GPU + TWO_GPU))
    pair = next(r.pair for r in node_runs if r.family == "mistpipe")
    fitted = hw.model_copy(update={"host_step_overhead_s": 0.05})
    on_node = pair.node.model_copy(update={f: getattr(fitted, f) for f in RUN_DERIVED_FIELDS})
    assert pair.predict(fitted) == predict_as_run(pair.plan, on_node, pair.run)
    assert pair.predict(fitted).iteration_time_s != pair.predict(hw).iteration_time_s  # the fitted term reaches it
    assert pair.predict(hw) != predict_as_run(pair.plan, hw, pair.run)              # and its node's host side


@pytest.mark.parametrize("split", ["gpus", "family", "workload", "random:3", "workload:3"])
def test_every_split_partitions_the_runs_and_tests_each_once(loaded, split):
    runs = loaded[0]
    names = {r.name for r in runs}
    folds = crossval.folds(runs, split, seed=0)
    assert len(folds) >= 2
    for fold in folds:
        assert set(fold.train) | set(fold.test) == names and not set(fold.train) & set(fold.test)
        assert fold.train and fold.test
    assert Counter(n for f in folds for n in f.test) == Counter(names)


def test_random_folds_follow_the_seed(loaded):
    runs = loaded[0]
    assert crossval.folds(runs, "random:4", seed=1) == crossval.folds(runs, "random:4", seed=1)
    assert crossval.folds(runs, "random:4", seed=1) != crossval.folds(runs, "random:4", seed=2)


def test_workload_folds_never_split_a_workload_and_follow_the_seed(loaded):
    runs = loaded[0]
    workload = {r.name: r.workload for r in runs}
    folds = crossval.folds(runs, "workload:4", seed=1)
    assert len(folds) == 4
    for fold in folds:
        assert not {workload[n] for n in fold.train} & {workload[n] for n in fold.test}
    assert folds == crossval.folds(runs, "workload:4", seed=1) != crossval.folds(runs, "workload:4", seed=2)


@pytest.mark.parametrize("split", ["random:1", "random:x", "bogus", "workload:1", "workload:100000"])
def test_bad_split_is_a_one_line_error(loaded, split):
    with pytest.raises(ValueError, match="--split"):
        crossval.folds(loaded[0], split)


def test_fit_comes_from_the_training_runs_only(loaded, hw):
    runs = subset(loaded[0], ONE_GPU + TWO_GPU)
    train, other = list(ONE_GPU[:3]), [ONE_GPU[3]]

    def fold(train_names, test_names):
        return crossval.run_fold(crossval.Fold("f", tuple(train_names), tuple(test_names)),
                                 runs, hw, hw, TERMS)

    base = fold(train, TWO_GPU)
    assert base["fitted"] == list(TERMS)
    assert fold(train, TWO_GPU[:1])["values"] == base["values"]          # other test runs: same fit
    assert fold(train, other)["values"] == base["values"]
    moved = fold(train[:2] + other, TWO_GPU)                             # other training runs: another fit
    assert moved["values"] != base["values"]
    # the test runs are scored with exactly what calibrate fits on the training runs
    profile = calibrate(hw, [r.pair for r in subset(runs, train)], TERMS).profile
    for row in base["runs"]:
        pair = next(r.pair for r in runs if r.name == row["name"])
        assert row["error"] == pytest.approx(pair.predict(profile).iteration_time_s
                                             / pair.run.median_iteration_time_s - 1.0, abs=1e-5)
        assert row["shipped_error"] == pytest.approx(pair.predict(hw).iteration_time_s
                                                     / pair.run.median_iteration_time_s - 1.0, abs=1e-5)
    assert base["test"]["n"] == len(TWO_GPU) and base["train"]["n"] == len(train)


def test_shipped_column_scores_a_run_on_its_own_nodes_profile(loaded, hw):
    """A 1-GPU node run's 'shipped' error is the node profile's own prediction, as `make accuracy` scores it."""
    # a run whose node profile prices it apart from h200's (a host-paced one: the node's host terms differ)
    run = next(r for r in loaded[0] if r.pair.node is not None and r.family == "zero3"
               and r.pair.predict(r.pair.node).iteration_time_s != pytest.approx(r.pair.predict(hw).iteration_time_s))
    node = run.pair.node
    assert crossval.shipped_error(run.pair, hw) == pytest.approx(
        run.pair.predict(node).iteration_time_s / run.pair.run.median_iteration_time_s - 1.0)
    assert crossval.shipped_error(run.pair, hw) != pytest.approx(crossval.error(run.pair, hw)[1])  # not h200's terms
    fold = crossval.run_fold(crossval.Fold("f", tuple(ONE_GPU), (run.name,)), [run, *subset(loaded[0], ONE_GPU)],
                             hw, hw, TERMS[:1])
    row = next(r for r in fold["runs"] if r["name"] == run.name)
    assert row["shipped_error"] == pytest.approx(crossval.shipped_error(run.pair, hw), abs=1e-5)


def test_report_lists_every_run_once_per_fold(loaded, hw):
    runs = subset(loaded[0], ONE_GPU + TWO_GPU)
    result = crossval.crossval(runs, "gpus", hw, hw, TERMS[:1])
    assert [f["label"] for f in result] == ["fit 1-GPU -> test the rest", "fit 2-GPU -> test the rest"]
    for fold, (train, test) in zip(result, [(ONE_GPU, TWO_GPU), (TWO_GPU, ONE_GPU)]):
        roles = Counter((r["name"], r["role"]) for r in fold["runs"])
        assert roles == Counter([(n, "train") for n in train] + [(n, "test") for n in test])
        assert sum(s["fitted"]["n"] for s in fold["test_families"].values()) == len(test)
    data = {"command": "c", "date": "d", "profile": "h200", "start": "shipped", "terms": list(TERMS[:1]),
            "runtime_s": 1.0, "left_out": [], "splits": {"gpus": result},
            "runs": {r.name: {"family": r.family, "measured_s": 1.0} for r in runs}}
    held_out = crossval.render(data).split("Held-out runs")[1]
    assert all(held_out.count(f"| {n} |") == 1 for n in ONE_GPU + TWO_GPU)


def test_cli_writes_md_and_json(tmp_path: Path, capsys):
    """On a suite of seven committed pairs (the whole suite took 49 s to fit)."""
    suite = tmp_path / "accuracy"
    suite.mkdir()
    for name in ONE_GPU + TWO_GPU:
        for kind in ("plan", "run"):
            shutil.copy(RESULTS / "accuracy" / f"{name}.{kind}.json", suite)
    out = tmp_path / "cv"
    argv = ["--split", "gpus", "--terms", "host_step_overhead_s", "--write", str(out)]
    code = exit_code(crossval.main, [*argv, "--suite", str(suite), "--older", str(tmp_path)])
    assert code == 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["profile"] == "h200" and data["terms"] == ["host_step_overhead_s"]
    assert sorted(data["runs"]) == sorted(ONE_GPU + TWO_GPU)
    assert " ".join(argv) in data["command"]
    folds = data["splits"]["gpus"]
    assert sorted(r["name"] for f in folds for r in f["runs"] if r["role"] == "test") == sorted(data["runs"])
    assert "## Split `gpus`" in out.with_suffix(".md").read_text()
    assert "split gpus:" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--terms", "host_nothing_s"], ["--split", "family,nope"],
                                  ["--start", "elsewhere"]])
def test_cli_bad_input_exits_2(argv, capsys):
    assert exit_code(crossval.main, argv) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_fit_can_start_from_another_profiles_values_of_the_fitted_terms():
    """--start from:PROFILE: the fitted terms take the donor's values, every other term keeps the target's; an unknown
    start is a ValueError (one line, exit 2 through run_cli)."""
    target, donor = load_hardware("h100-1gpu-node"), load_hardware("h200-1gpu-node")
    terms = ("mistpipe_layer_overhead_s", "mistpipe_streamed_layer_overhead_s")
    start = crossval.start_profile(target, "from:h200-1gpu-node", terms)
    assert all(getattr(start, t) == getattr(donor, t) for t in terms)
    assert getattr(donor, terms[0]) != getattr(target, terms[0])
    others = [t for t in crossval.TIME_TERMS if t not in terms]
    assert all(getattr(start, t) == getattr(target, t) for t in others)
    with pytest.raises(ValueError, match="from:PROFILE"):
        crossval.start_profile(target, "donor", terms)
