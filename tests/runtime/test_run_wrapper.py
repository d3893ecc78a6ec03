"""`python -m mist_ds.run`: the fallback chain, skipping, the attempts log and exit codes, first with a
stand-in `deepspeed` (fast, no torch), then for real on 2 CPU ranks with the runtime's injected OOM and
an injected SIGKILL; and the runtime's host-memory check (runtime/host_check.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mist_ds import run as wrapper
from mist_ds.cli import UserError
from mist_ds.config import Plan, RunReport
from mist_ds.config.units import GIB
from mist_ds.run import needs
from mist_ds.runtime.host_check import MESSAGE_PREFIX, RankHost, rank_need_bytes, shortfall_message
from mist_ds.search.driver import DEFAULT_MEMORY_MARGIN_RATIO
from tests.helpers import child_pythonpath, free_port
from tests.runtime.plans import CASES
from tests.test_honest_ranking import _predicted, dp, pp

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "launch" / "examples" / "tiny-gpt-hf" / "config.json"


def test_exit_status_to_signal_and_outcome():
    # DeepSpeed's launch.py exits with a dead rank's negative returncode: 256 - N; shells/ssh say 128 + N
    assert [wrapper.signal_of(c) for c in (-9, 247, 137, 0, 1, 2, 3)] == [9, 9, 9, None, None, None, None]
    assert [wrapper.outcome(c) for c in (0, 3, 247, 1, 2)] == ["ok", "oom", "killed", "error", "error"]


def test_report_flag_is_taken_and_plan_is_refused():
    assert wrapper.split_report_flag(["--steps", "3", "--report", "r.json", "--lr", "1"]) == (
        ["--steps", "3", "--lr", "1"], "r.json")
    assert wrapper.split_report_flag(["--report=x.json"]) == ([], "x.json")
    for bad in (["--plan", "p.json"], ["--plan=p.json"], ["--report"]):
        with pytest.raises(UserError):
            wrapper.split_report_flag(bad)


def test_skipping_compares_the_memory_that_ran_out():
    big = _predicted(dp(), 1.0, 8.0, host_gib=2.0)
    small_gpu = _predicted(pp(), 1.0, 6.0, host_gib=3.0)
    assert wrapper.skip_reason(small_gpu, big, "gpu") is None
    assert "GPU memory" in wrapper.skip_reason(big, small_gpu, "gpu")
    assert "host memory" in wrapper.skip_reason(small_gpu, big, "host")
    # half the margin less GPU memory: inside the model's median memory error
    barely = _predicted(pp(), 1.0, 8.0 * (1 - DEFAULT_MEMORY_MARGIN_RATIO / 2), host_gib=2.0)
    assert f"save at least {DEFAULT_MEMORY_MARGIN_RATIO:.0%}" in wrapper.skip_reason(barely, big, "gpu")
    no_offload = _predicted(dp(), 1.0, 8.0)
    assert wrapper.skip_reason(no_offload, no_offload, "host") is None  # a kill of a plan offloading nothing


def test_which_memory_ran_out():
    base = wrapper.killed_report(CASES["zero1"], 9)
    assert base.status == "killed" and base.signal == 9 and "SIGKILL" in base.error_message
    assert wrapper.exhausted(base) == "host"
    oom = base.model_copy(update={"status": "oom", "signal": None, "error_message": "CUDA out of memory"})
    assert wrapper.exhausted(oom) == "gpu"
    assert wrapper.exhausted(oom.model_copy(update={"error_message": f"{MESSAGE_PREFIX} node 0 ..."})) == "host"


FAKE_DEEPSPEED = textwrap.dedent('''\
    #!{python}
    """Stand-in launcher: what each attempt does is in $FAKE_PLAN (attempt index -> exit status)."""
    import json, os, sys
    args = sys.argv[1:]
    attempt = os.environ["MIST_DS_ATTEMPT"]
    code = json.loads(os.environ["FAKE_PLAN"])[attempt]
    report = args[args.index("--report") + 1]
    plan = json.load(open(args[args.index("--plan") + 1]))
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write(json.dumps([attempt, args]) + "\\n")
    sys.path.insert(0, {root!r})
    from mist_ds.config import Plan, RunReport
    h = Plan.load(args[args.index("--plan") + 1]).without_prediction().content_hash()
    fields = dict(plan_hash=h, gpu_name="cpu", num_gpus=2, torch_version="x", deepspeed_version="y",
                  num_steps=1, num_warmup_steps=0)
    if code == 0:
        RunReport(status="ok", **fields).save(report)
    elif code == 3:
        RunReport(status="oom", error_message="injected", **fields).save(report)
    sys.exit(code)
''')


def _tuned_folder(tmp_path: Path, fallbacks: int = 2, hardware: str = "h100-sxm-80gb") -> Path:
    from mist_ds.autotune import main as autotune

    out = tmp_path / "tuned"
    # batch 32, ZeRO-0: micro-batches 16 (the winner) down to 1 differ by more than the margin a fallback must save
    assert autotune(["--model", str(TINY), "--gpus-per-node", "2", "--global-batch", "32", "--seq-len", "64",
                     "--hardware", hardware, "--no-offload", "--zero-stages", "0", "--fallbacks", str(fallbacks),
                     "--out", str(out), "--json"]) == 0
    assert len(list((out / "fallback").iterdir()) if fallbacks else []) == fallbacks
    assert (out / "fallback").exists() == (fallbacks > 0)
    return out


def _fake_run(tmp_path: Path, folder: Path, codes: dict, *extra: str) -> tuple[int, list]:
    fake = tmp_path / "deepspeed"
    fake.write_text(FAKE_DEEPSPEED.format(python=sys.executable, root=str(ROOT)))
    fake.chmod(0o755)
    log = tmp_path / "log.jsonl"
    log.unlink(missing_ok=True)
    env = {**os.environ, "FAKE_PLAN": json.dumps(codes), "FAKE_LOG": str(log), "PYTHONPATH": child_pythonpath(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "mist_ds.run", str(folder), "--deepspeed", str(fake), *extra],
                          env=env, capture_output=True, text=True, timeout=120)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc.returncode, calls


def test_oom_then_kill_then_ok_runs_three_plans_and_logs_them(tmp_path, capsys):
    folder = _tuned_folder(tmp_path)
    final = tmp_path / "final.json"
    code, calls = _fake_run(tmp_path, folder, {"0": 3, "1": 247, "2": 0}, "--steps", "3", "--report", str(final))
    assert code == 0 and [c[0] for c in calls] == ["0", "1", "2"]
    for attempt, args in calls:
        plan = folder if attempt == "0" else folder / "fallback" / attempt
        assert args[args.index("--plan") + 1] == str(plan / "plan.json") and "--steps" in args
        assert args[args.index("--module") + 1] == "mist_ds.train" and "--no_ssh_check" in args
    log = json.loads((folder / "attempts.json").read_text())
    assert [a["status"] for a in log["attempts"]] == ["oom", "killed", "ok"] and log["final_status"] == "ok"
    assert [a.get("memory") for a in log["attempts"]] == ["gpu", "host", None]   # which memory ran out
    killed = RunReport.model_validate(log["attempts"][1]["report"], strict=False)
    assert killed.status == "killed" and killed.signal == 9
    assert RunReport.load(final).status == "ok" and RunReport.load(folder / "fallback" / "2" / "run.json").status == "ok"


def _predicted_to_need_as_much(second: Path, first: Path) -> None:
    """Give `second`'s plan the predicted GPU peak of `first`'s (a fallback that saves nothing)."""
    plan, peak = Plan.load(second / "plan.json"), needs(Plan.load(first / "plan.json"), "gpu")
    stages = tuple(s.model_copy(update={"peak_memory_bytes": peak}) for s in plan.prediction.stages)
    plan.model_copy(update={"prediction": plan.prediction.model_copy(update={"stages": stages})}).save(second / "plan.json")


def test_every_plan_out_of_memory_exits_3_and_an_error_stops_the_chain(tmp_path):
    folder = _tuned_folder(tmp_path)
    _predicted_to_need_as_much(folder / "fallback" / "2", folder / "fallback" / "1")
    code, calls = _fake_run(tmp_path, folder, {"0": 3, "1": 3, "2": 3})
    assert code == 3 and [c[0] for c in calls] == ["0", "1"]
    log = json.loads((folder / "attempts.json").read_text())
    # fallback/2 is predicted to need at least the GPU memory of fallback/1, which ran out: skipped
    assert [a["status"] for a in log["attempts"]] == ["oom", "oom", "skipped"] and log["final_status"] == "oom"
    code, calls = _fake_run(tmp_path, folder, {"0": 1, "1": 0, "2": 0}, "--fallbacks", "2")
    assert code == 1 and [c[0] for c in calls] == ["0"]
    code, calls = _fake_run(tmp_path, folder, {"0": 247, "1": 0, "2": 0}, "--fallbacks", "0")
    assert code == 128 + 9


def test_a_folder_without_a_plan_is_one_line_exit_2(tmp_path, capsys):
    assert wrapper.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an autotune output folder" in err


def test_host_need_per_rank_and_the_one_line_per_node():
    plan = _predicted(pp(), 1.0, 1.0, host_gib=3.0)  # 2 stages, one GPU each
    # the prediction is the process's peak host memory (base included): what it holds already is deducted
    assert rank_need_bytes(plan, 1, rss_bytes=0) == 3 * GIB
    assert rank_need_bytes(plan, 0, rss_bytes=1 * GIB) == 2 * GIB
    assert rank_need_bytes(plan, 0, rss_bytes=10 * GIB) == 0
    assert rank_need_bytes(plan.without_prediction(), 0, rss_bytes=0) == 0
    fits = [RankHost(0, 2 * GIB, 5 * GIB), RankHost(0, 2 * GIB, 4 * GIB), RankHost(1, 9 * GIB, -1)]
    assert shortfall_message(fits) is None  # node 0: 4 GiB needed, 4 available; node 1 unknown
    short = shortfall_message([RankHost(0, 3 * GIB, 4 * GIB), RankHost(0, 2 * GIB, 5 * GIB),
                               RankHost(1, 5 * GIB, 1 * GIB)])
    assert short.startswith(MESSAGE_PREFIX) and "\n" not in short
    assert "node 0 needs 5.0 GiB for its 2 rank(s), 4.0 GiB available" in short
    assert "node 1 needs 5.0 GiB for its 1 rank(s), 1.0 GiB available" in short


# ----- real 2-rank CPU runs --------------------------------------------------------------------------

def _cpu_env(**extra: str) -> dict[str, str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "DS_ACCELERATOR": "cpu", "OMP_NUM_THREADS": "1", "PYTHONPATH": child_pythonpath(ROOT),
            "PATH": path, **extra}


def _launch(folder: Path, port: int, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(folder / "launch.sh"), "--steps", "2", "--warmup", "1", "--master-port", str(port)],
                          env=_cpu_env(**env), capture_output=True, text=True, timeout=900)


@pytest.mark.distributed
@pytest.mark.parametrize("fault,status", [("oom", "oom"), ("kill", "killed")])
def test_launch_sh_runs_the_fallback_after_an_injected_failure(tmp_path, fault, status):
    folder = _tuned_folder(tmp_path, fallbacks=1)
    moved = tmp_path / "moved folder"
    folder.rename(moved)
    proc = _launch(moved, free_port(), MIST_DS_FAULT=f"{fault}:1:0:0")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = json.loads((moved / "attempts.json").read_text())
    assert [a["status"] for a in log["attempts"]] == [status, "ok"]
    first = RunReport.model_validate(log["attempts"][0]["report"], strict=False)
    assert first.status == status and (first.signal == 9 if fault == "kill" else "MIST_DS_FAULT" in first.error_message)
    assert RunReport.load(moved / "fallback" / "1" / "run.json").status == "ok"


@pytest.mark.distributed
def test_a_node_without_the_host_memory_stops_before_the_model_in_one_line(tmp_path):
    # h200: its host prediction includes the measured process base (1.8 GiB), more than a CPU test rank holds
    folder = _tuned_folder(tmp_path, fallbacks=0, hardware="h200")
    proc = _launch(folder, free_port(), MIST_DS_HOST_MEMORY_AVAILABLE_BYTES=str(2**20))
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-3000:]
    ours = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(ours) == 1 and f"error: {MESSAGE_PREFIX} node 0 needs" in ours[0] and "0.0 GiB available" in ours[0]
    assert "[mist_ds] step" not in proc.stdout  # nothing trained: stopped before the model was built
    report = RunReport.load(folder / "run.json")
    assert report.status == "oom" and report.error_message.startswith(MESSAGE_PREFIX)


def test_a_fallback_waits_for_the_failed_attempts_port_to_be_free():
    # a killed attempt's rank can hold the rendezvous port a moment after its launcher exits
    # (EADDRINUSE in a clean-clone CI run of the injected-kill test above)
    import socket
    import threading
    import time

    port = free_port()
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", port))
    held.listen()
    assert not wrapper.wait_for_port(port, timeout_s=0.3)
    threading.Timer(0.5, held.close).start()
    start = time.monotonic()
    assert wrapper.wait_for_port(port, timeout_s=10.0)
    assert 0.4 < time.monotonic() - start < 5.0
    assert wrapper.wait_for_port(free_port(), timeout_s=0.0)


def test_build_locks_are_found_where_deepspeed_builds_its_ops(tmp_path):
    own, default = tmp_path / "own", tmp_path / "cache" / "torch_extensions" / "py311_cpu"
    for root in (own, default):
        (root / "cpu_adam").mkdir(parents=True)
        (root / "cpu_adam" / "lock").touch()
        (root / "fused_adam").mkdir()
    assert wrapper.extension_build_locks({"TORCH_EXTENSIONS_DIR": str(own)}) == [own / "cpu_adam" / "lock"]
    assert wrapper.extension_build_locks({"XDG_CACHE_HOME": str(tmp_path / "cache")}) == [default / "cpu_adam" / "lock"]
    assert wrapper.extension_build_locks({"HOME": str(tmp_path / "nobody")}) == []


def test_a_launch_names_a_build_lock_its_ranks_would_wait_on(tmp_path, monkeypatch, capsys):
    # a build killed mid-way leaves torch's lock and every rank that loads the op waits for ever
    folder = _tuned_folder(tmp_path)
    lock = tmp_path / "ext" / "deepspeed_shm_comm" / "lock"
    lock.parent.mkdir(parents=True)
    lock.touch()
    os.utime(lock, (lock.stat().st_atime, lock.stat().st_mtime - 3600))
    fake = tmp_path / "deepspeed"
    fake.write_text(FAKE_DEEPSPEED.format(python=sys.executable, root=str(ROOT)))
    fake.chmod(0o755)
    for name, value in {"TORCH_EXTENSIONS_DIR": str(tmp_path / "ext"), "FAKE_PLAN": json.dumps({"0": 0}),
                        "FAKE_LOG": str(tmp_path / "log.jsonl"), "PYTHONPATH": child_pythonpath(ROOT)}.items():
        monkeypatch.setenv(name, value)
    assert wrapper.main([str(folder), "--deepspeed", str(fake)]) == 0
    assert f"[mist_ds.run] {lock} exists (made 60 min ago): the ranks will wait until it is gone" in capsys.readouterr().err
