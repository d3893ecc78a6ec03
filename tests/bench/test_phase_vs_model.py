"""bench/accuracy/phase_vs_model.py: steady micro-batch phases beside the cost model's."""

import json
import statistics
import subprocess
import sys
from pathlib import Path

from bench.accuracy.phase_vs_model import boundary_extras, hidden_share, model_phases, steady_phases
from bench.accuracy.writeback_rate import optimizer_steps

ROOT = Path(__file__).resolve().parents[2]
W1 = ROOT / "bench/results/runtime/w1_opt_S45/l321b-1g-c78-s4096-b16-z3-w1-mb4/rank0.phases.json"


def mb(forward, backward):
    return {"forward": forward, "backward": backward, "step": 0.0}


def test_warm_up_steps_first_forwards_and_last_backwards_are_left_out(tmp_path):
    steps = [[mb(9, 9), mb(9, 9)]] * 2 + [[mb(5, 1), mb(2, 8)], [mb(6, 3), mb(4, 7)]]
    path = tmp_path / "rank0.phases.json"
    path.write_text(json.dumps({"rank": 0, "steps": steps}))
    assert steady_phases(path) == ([2.0, 4.0], [1.0, 3.0])
    # the last backward's extra over the step's other backwards (one each here)
    assert boundary_extras(path) == [7.0, 4.0]


def test_the_cli_row_holds_the_files_medians_and_the_models_phases():
    out = subprocess.run([sys.executable, "bench/accuracy/phase_vs_model.py", str(W1)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    cells = out.strip().splitlines()[-1].strip("| ").split(" | ")
    forwards, backwards = steady_phases(W1)
    model = model_phases(W1, "h200-1gpu-node")
    extra = statistics.median(boundary_extras(W1))
    assert cells[0] == "l321b-1g-c78-s4096-b16-z3-w1-mb4"
    assert [float(c) for c in (cells[1], cells[2], cells[4], cells[5])] == [
        round(1e3 * x, 1) for x in (statistics.median(forwards), model.forward, statistics.median(backwards),
                                    model.backward)]
    # the optimizer step against the model's step less its boundary term, and that term against the last backward
    assert [float(c) for c in (cells[10], cells[11], cells[13], cells[14])] == [
        round(1e3 * x, 1) for x in (statistics.median(optimizer_steps(W1)), model.step, extra, model.boundary)]
    assert 0 < model.step and 0 <= model.boundary
    # the term's two parts: the boundary's copies alone and the slack they are taken to hide in
    assert [float(c) for c in (cells[15], cells[16])] == [round(1e3 * x, 1) for x in (model.copies, model.slack)]
    assert model.boundary == max(model.copies - model.slack, 0.0)
    assert cells[17] == hidden_share(extra, model.copies, model.slack)
    # the model's GPU compute alone against the measured micro-batch, below the model's whole micro-batch
    both = statistics.median(forwards) + statistics.median(backwards)
    assert float(cells[18]) == round(1e3 * model.compute, 1) and cells[19] == f"{model.compute / both - 1:+.1%}"
    assert 0 < model.compute <= model.forward + model.backward


def test_the_slack_hidden_is_what_the_copies_lost_over_the_slack():
    assert hidden_share(0.081, 0.105, 0.084) == "0.29"   # 24 ms of 84 hidden
    assert hidden_share(0.0, 0.1, 0.05) == "2.00"        # more hidden than the model's slack
    assert hidden_share(0.27, 0.27, 0.0) == "-" and hidden_share(0.0, 0.0, 0.3) == "-"


def test_a_phases_file_without_a_plan_gets_one_line_and_exit_2(tmp_path):
    path = tmp_path / "no-such-case" / "rank0.phases.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"rank": 0, "steps": [[mb(1, 1), mb(1, 1)]] * 3}))
    done = subprocess.run([sys.executable, "bench/accuracy/phase_vs_model.py", str(path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
