"""`python -m mist_ds.run FOLDER [--fallbacks K] [--deepspeed PATH] [--master-port N] [TRAIN FLAGS]`:
run a tuned folder's plan with DeepSpeed and, when it fails for memory, its fallback plans.

FOLDER is an autotune output folder (what its launch.sh passes: the folder launch.sh lies in). The
winner (FOLDER/plan.json) runs first through `deepspeed --hostfile FOLDER/hostfile --module
mist_ds.train --plan ...`; when the run ends out of memory (every rank exits 3: the runtime's OOM or
its host-memory check) or a rank is killed by a signal (the kernel's OOM killer: status 'killed'),
FOLDER/fallback/1, /2, ... run in turn, up to K, skipping a plan predicted to need at least as much
of the memory that ran out (GPU, or host for a kill / a host-memory stop). Each attempt writes its
RunReport to run.json in its plan's folder; FOLDER/attempts.json records every attempt (rewritten after each one; a
memory failure's record names the memory, "gpu" or "host", beside its status); --report PATH also gets the last
attempt's report. TRAIN FLAGS (--steps 20, ...) go to every attempt. Exit codes: the last attempt's (0 ok, 1 error, 2
bad input, 3 out of memory, 128 + N killed by signal N), 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mist_ds.cli import EXIT_INFEASIBLE, EXIT_INTERRUPTED, OneLineParser, UserError, exit_code
from mist_ds.config import Plan, RunReport
from mist_ds.emit.launch import SHELL_SAFE_PATH, launch_argv
from mist_ds.source_version import runtime_digest

ATTEMPTS_FILE = "attempts.json"
REPORT_FILE = "run.json"
# DeepSpeed's launcher (launcher/launch.py main) ends with sys.exit(returncode) of the first rank that
# failed; a rank killed by signal N has returncode -N, so the exit status is 256 - N, which
# launcher/runner.py passes on. Shells and ssh (pdsh, multi-node) report a killed process as 128 + N.
MAX_SIGNAL = 64
MEMORY_FAILURES = ("oom", "killed")


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m mist_ds.run", description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("folder", help="autotune output folder (plan.json, hostfile, fallback/K/)")
    parser.add_argument("--fallbacks", type=int, default=None, metavar="K",
                        help="try at most K fallback plans (default: every fallback/K the folder holds)")
    parser.add_argument("--deepspeed", default=None,
                        help="the deepspeed launcher (default: next to this Python, else on PATH)")
    parser.add_argument("--master-port", type=int, default=None, help="DeepSpeed's --master_port")
    return parser


def signal_of(returncode: int) -> int | None:
    """The signal that killed a rank (or the launcher), from the launcher's exit status; None: none."""
    if returncode < 0:
        return -returncode
    if 256 - MAX_SIGNAL <= returncode <= 255:
        return 256 - returncode
    if 128 < returncode < 128 + MAX_SIGNAL:
        return returncode - 128
    return None


def outcome(returncode: int) -> str:
    """'ok', 'oom', 'killed' or 'error' of one attempt."""
    if returncode == 0:
        return "ok"
    if returncode == EXIT_INFEASIBLE:
        return "oom"
    if signal_of(returncode) is not None:
        return "killed"
    return "error"


def killed_report(plan: Plan, sig: int) -> RunReport:
    """The RunReport of a run whose rank died by a signal before it could write one."""
    from importlib.metadata import PackageNotFoundError, version

    def _version(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "unknown"

    name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
    return RunReport(status="killed", signal=sig, plan_hash=plan.without_prediction().content_hash(),
                     error_message=f"a rank was killed by {name} ({sig}), e.g. by the kernel's out-of-memory "
                                   "killer; DeepSpeed's launcher then stopped the others",
                     gpu_name="unknown", num_gpus=plan.cluster.num_gpus, torch_version=_version("torch"),
                     deepspeed_version=_version("deepspeed"), num_steps=0, num_warmup_steps=0,
                     date_utc=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                     runtime_digest=runtime_digest())


def exhausted(report: RunReport) -> str:
    """Which memory a failed run ran out of: 'host' (killed, or stopped by the host-memory check) or 'gpu'."""
    from mist_ds.runtime.host_check import MESSAGE_PREFIX

    return "host" if report.status == "killed" or report.error_message.startswith(MESSAGE_PREFIX) else "gpu"


def needs(plan: Plan, kind: str) -> int | None:
    """The plan's predicted per-GPU need of `kind` memory (None: no prediction)."""
    if plan.prediction is None:
        return None
    stages = plan.prediction.stages
    return max(s.cpu_memory_bytes if kind == "host" else s.peak_memory_bytes for s in stages)


def skip_reason(plan: Plan, failed: Plan, kind: str) -> str | None:
    """Why `plan` is not worth running after `failed` ran out of `kind` memory (None: run it): it is not
    predicted to save MIN_FALLBACK_SAVING_RATIO of that memory. A failed plan predicted to need none
    of it (a kill of a plan that offloads nothing) says nothing."""
    from mist_ds.api import MIN_FALLBACK_SAVING_RATIO, saves_memory

    mine, theirs = needs(plan, kind), needs(failed, kind)
    if mine is None or not theirs or saves_memory(mine, theirs):
        return None
    return (f"predicted to need {mine / theirs:.0%} of the {kind.upper() if kind == 'gpu' else kind} memory of the "
            f"plan that ran out (a fallback must save at least {MIN_FALLBACK_SAVING_RATIO:.0%})")


def plan_chain(folder: Path, fallbacks: int | None) -> list[Path]:
    """FOLDER, then FOLDER/fallback/1, /2, ... (while they hold plan.json), at most `fallbacks` of them."""
    chain = [folder]
    while (folder / "fallback" / str(len(chain)) / "plan.json").is_file():
        chain.append(folder / "fallback" / str(len(chain)))
    return chain[:1 + (len(chain) if fallbacks is None else fallbacks)]


def find_deepspeed(given: str | None) -> str:
    """--deepspeed, else `deepspeed` next to this Python, else on PATH; else a one-line UserError."""
    if given:
        if not (os.path.isfile(given) and os.access(given, os.X_OK)):
            raise UserError(f"--deepspeed {given}: not an executable file")
        return given
    beside = Path(sys.executable).with_name("deepspeed")
    found = str(beside) if beside.is_file() else shutil.which("deepspeed")
    if found is None:
        raise UserError(f"no deepspeed next to {sys.executable} or on PATH: install mist_ds's dependencies "
                        "(pip install mist_ds) or pass --deepspeed PATH")
    return found


def _load_plan(folder: Path) -> Plan:
    try:
        return Plan.load_checked(folder / "plan.json", "plan")
    except ValueError as err:
        raise UserError(str(err)) from None


def _read_report(path: Path) -> RunReport | None:
    try:
        return RunReport.load(path) if path.is_file() else None
    except ValueError:
        return None


def split_report_flag(extra: Sequence[str]) -> tuple[list[str], str | None]:
    """(training flags without --report, the --report path or None); --plan is the wrapper's to set."""
    rest, report, items = [], None, list(extra)
    while items:
        item = items.pop(0)
        if item in ("--plan", "--local_rank") or item.startswith(("--plan=", "--local_rank=")):
            raise UserError(f"{item.split('=')[0]} is set by python -m mist_ds.run for each attempt")
        if item == "--report":
            if not items:
                raise UserError("--report needs a path")
            report = items.pop(0)
        elif item.startswith("--report="):
            report = item.partition("=")[2]
        else:
            rest.append(item)
    return rest, report


class Attempts:
    """The attempts log (FOLDER/attempts.json), rewritten atomically after every change."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.records: list[dict] = []

    def add(self, record: dict) -> None:
        self.records.append(record)
        self.save()

    def save(self) -> None:
        from mist_ds.fileio import write_text_atomic

        final = next((r["status"] for r in reversed(self.records) if r["status"] != "skipped"), None)
        body = {"folder": str(self.folder), "final_status": final, "attempts": self.records}
        write_text_atomic(self.folder / ATTEMPTS_FILE, json.dumps(body, indent=2) + "\n")


def _record(index: int, folder: Path, root: Path, plan: Plan) -> dict:
    return {"attempt": index, "folder": str(folder.relative_to(root)) if folder != root else ".",
            "layout": plan.describe(), "plan_hash": plan.without_prediction().content_hash(),
            "predicted_peak_bytes": needs(plan, "gpu"), "predicted_host_bytes_per_gpu": needs(plan, "host")}


# DeepSpeed's launcher's default --master_port (deepspeed/constants.py TORCH_DISTRIBUTED_DEFAULT_PORT)
DEFAULT_MASTER_PORT = 29500
PORT_WAIT_S = 30.0
"""How long a fallback attempt waits for the failed attempt's rendezvous port to be free (wait_for_port)."""


def wait_for_port(port: int, timeout_s: float = PORT_WAIT_S) -> bool:
    """Wait until nothing on this host listens on `port`; True when it is free. A failed attempt's
    ranks can outlive its launcher for a moment (deepspeed/launcher/launch.py terminate_process_tree
    SIGKILLs the ranks still alive after 30 s and exits without waiting for them), and the next
    attempt's rendezvous server would then fail with EADDRINUSE: a clean-clone CI run of
    tests/runtime/test_run_wrapper.py's injected-kill case failed so once (its log did not say which
    attempt, nor what held the port). The probe sets SO_REUSEADDR as torch's TCPStore server does, so
    closed connections in TIME_WAIT do not count as a listener."""
    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("0.0.0.0", port))
                return True
            except OSError:
                pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def extension_build_locks(environ: dict[str, str] | None = None) -> list[Path]:
    """torch's op build locks where DeepSpeed's JIT ops (cpu_adam, fused_adam, the CPU shm comm op) build
    on this host: <root>/<op>/lock (torch.utils.cpp_extension's FileBaton: made by the process that builds
    the op, removed when it is done), root being TORCH_EXTENSIONS_DIR or every folder of torch's default
    (XDG_CACHE_HOME or ~/.cache, then torch_extensions/<python>_<accelerator>)."""
    env = os.environ if environ is None else environ
    if env.get("TORCH_EXTENSIONS_DIR"):
        return sorted(Path(env["TORCH_EXTENSIONS_DIR"]).glob("*/lock"))
    cache = Path(env.get("XDG_CACHE_HOME") or Path(env.get("HOME", "~")).expanduser() / ".cache")
    return sorted((cache / "torch_extensions").glob("*/*/lock"))


def build_lock_note(lock: Path, now: float | None = None) -> str:
    """One line on a build lock found before a launch: a build running now, or one killed mid-way, whose
    lock every rank that loads the op waits on for ever (FileBaton.wait polls with no time limit: a
    known DeepSpeed hang, e.g. deepspeedai/DeepSpeedExamples#302; session 39's CI run hung so)."""
    age = max(0.0, (time.time() if now is None else now) - lock.stat().st_mtime)
    return (f"{lock} exists (made {age / 60:.0f} min ago): the ranks will wait until it is gone; unless a "
            "DeepSpeed op is being built on this host now, a killed build left it: delete it")


def run_attempt(argv: list[str], attempt: int) -> tuple[int, bool]:
    """Run one deepspeed command (output passes through); (exit status, interrupted by the user)."""
    proc = subprocess.Popen(argv, env={**os.environ, "MIST_DS_ATTEMPT": str(attempt)})
    try:
        return proc.wait(), False
    except KeyboardInterrupt:  # the launcher got the same SIGINT and stops its ranks
        try:
            return proc.wait(timeout=30), True
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.kill()
            return proc.wait(), True


def _say(message: str) -> None:
    sys.stderr.write(f"[mist_ds.run] {message}\n")
    sys.stderr.flush()


def _attempt_report(plan: Plan, status: str, returncode: int, report_path: Path) -> RunReport | None:
    """The attempt's RunReport: the one its ranks wrote, or (a rank killed) one written here."""
    report = _read_report(report_path)
    if status == "killed" and (report is None or report.status != "oom"):  # not a peer's echo
        report = killed_report(plan, signal_of(returncode))
        report.save(report_path)
    return report


def _attempt(index: int, folder: Path, plan: Plan, record: dict, args: argparse.Namespace,
             train_flags: list[str], deepspeed: str) -> tuple[dict, RunReport | None, int]:
    """Run one plan of the chain: (its attempts.json record, its RunReport, the exit code to end with)."""
    report_path = folder / REPORT_FILE
    report_path.unlink(missing_ok=True)
    command = launch_argv(plan.cluster, folder / "hostfile", folder / "plan.json", deepspeed, args.master_port)
    command += [*train_flags, "--report", str(report_path)]
    _say(f"attempt {index + 1}: {record['folder']} ({plan.describe()})")
    start = time.monotonic()
    returncode, interrupted = run_attempt(command, index)
    status = "interrupted" if interrupted else outcome(returncode)
    report = _attempt_report(plan, status, returncode, report_path)
    record = {**record, "status": status, "returncode": returncode, "signal": signal_of(returncode),
              "seconds": round(time.monotonic() - start, 1), "command": command,
              "report": None if report is None else json.loads(report.to_json())}
    code = EXIT_INTERRUPTED if interrupted else (128 + signal_of(returncode) if status == "killed" else returncode)
    return record, report, code


def _check_folder(args: argparse.Namespace, user_report: str | None) -> Path:
    """The resolved folder, checked before anything runs (one-line UserErrors)."""
    root = Path(args.folder).resolve()
    if not (root / "plan.json").is_file() or not (root / "hostfile").is_file():
        raise UserError(f"{args.folder}: not an autotune output folder (needs plan.json and hostfile)")
    if args.fallbacks is not None and args.fallbacks < 0:
        raise UserError(f"--fallbacks must be >= 0, got {args.fallbacks}")
    if user_report is not None and not Path(user_report).resolve().parent.is_dir():
        raise UserError(f"--report {user_report}: its folder does not exist")
    return root


def _run(argv: Sequence[str] | None) -> int:
    args, extra = _parser().parse_known_args(argv)
    train_flags, user_report = split_report_flag(extra)
    root = _check_folder(args, user_report)
    deepspeed = find_deepspeed(args.deepspeed)
    chain = plan_chain(root, args.fallbacks)
    plans = [_load_plan(folder) for folder in chain]
    if plans[0].cluster.num_nodes > 1 and not SHELL_SAFE_PATH.fullmatch(str(root)):
        raise UserError(f"{root}: a multi-node plan's path is passed unquoted to remote shells (DeepSpeed's pdsh "
                        "runner); move the folder to a path of letters, digits and _@%+=:,./- only")
    for lock in extension_build_locks():
        _say(build_lock_note(lock))
    log, failed, code = Attempts(root), None, 0
    for index, (folder, plan) in enumerate(zip(chain, plans)):
        record = _record(index, folder, root, plan)
        why = skip_reason(plan, *failed) if failed else None
        if why is not None:
            _say(f"skipping {record['folder']} ({plan.describe()}): {why}")
            log.add({**record, "status": "skipped", "reason": why})
            continue
        port = args.master_port or DEFAULT_MASTER_PORT
        if index > 0 and plan.cluster.num_nodes == 1 and not wait_for_port(port):
            _say(f"port {port} is still in use {PORT_WAIT_S:.0f} s after the last attempt; starting anyway")
        record, report, code = _attempt(index, folder, plan, record, args, train_flags, deepspeed)
        if record["status"] in MEMORY_FAILURES:   # 'oom' covers the runtime's host-memory stop too
            record["memory"] = exhausted(report) if report is not None else "gpu"
        log.add(record)
        if user_report and report is not None:
            report.save(user_report)
        if record["status"] not in MEMORY_FAILURES:
            break
        failed = (plan, record["memory"])
        what = (f"a rank was killed by signal {record['signal']} (likely the kernel's out-of-memory killer)"
                if record["status"] == "killed" else f"ran out of {failed[1]} memory (exit {record['returncode']})")
        _say(f"{record['folder']}: {what}"
             + ("; trying the next plan" if index + 1 < len(chain) else "; no fallback plan left"))
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (user errors: one stderr line, exit 2)."""
    return exit_code(_run, argv)


if __name__ == "__main__":
    sys.exit(main())
