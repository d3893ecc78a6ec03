"""The (plan, RunReport) pairs a calibration reads: each RUN.json with the plan it measured."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mist_ds.config import HardwareProfile, Plan, PlanPrediction, RunReport
from mist_ds.config.hardware import RUN_DERIVED_FIELDS
from mist_ds.config.plan import plan_file_hashes
from mist_ds.cost.plan_predict import predict_as_run


@dataclass(frozen=True)
class RunPair:
    """One measured run and the plan it ran."""

    name: str
    """The run's file name without '.run.json' / '.json'."""
    run_path: Path
    plan_path: Path
    plan: Plan
    """The plan without its stored prediction (the cost model re-predicts it)."""
    run: RunReport
    node: HardwareProfile | None = None
    """The profile of the node kind the run ran on, where it is not the calibrated profile's (e.g. the
    1-GPU H200 node's beside h200): its measured side, with the run-derived terms under fit (predict)."""

    def predict(self, hw: HardwareProfile) -> PlanPrediction:
        """The cost model's prediction of the plan as this run ran it (cost/plan_predict.py predict_as_run:
        its kernels, ZeRO-3 build, mistpipe optimizer path and activation-offload copy mode), on `hw`, or
        on its node's profile carrying `hw`'s run-derived terms (config/hardware.py RUN_DERIVED_FIELDS)."""
        if self.node is not None and self.node.name != hw.name:
            hw = self.node.model_copy(update={f: getattr(hw, f) for f in RUN_DERIVED_FIELDS})
        return predict_as_run(self.plan, hw, self.run)


def run_stem(path: Path) -> str:
    """'x.run.json' -> 'x', 'x.json' -> 'x'."""
    name = path.name
    for suffix in (".run.json", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def plan_path_for(run_path: Path, plan_hash: str, plans_dir: Path | None) -> Path:
    """Where the plan of `run_path` lies: NAME.plan.json in `plans_dir` (if given) or beside the run;
    else, in `plans_dir`, the one JSON file whose plan hash is the run's."""
    folder = plans_dir if plans_dir is not None else run_path.parent
    candidate = folder / f"{run_stem(run_path)}.plan.json"
    if candidate.is_file():
        return candidate
    if plans_dir is not None:
        for path in sorted(plans_dir.glob("*.json")):
            try:
                if plan_hash in plan_file_hashes(path):
                    return path
            except (ValueError, OSError):
                continue               # not a (readable) plan file
    where = f"in {plans_dir} (by name or plan hash {plan_hash})" if plans_dir is not None else f"beside {run_path.name}"
    raise ValueError(f"{run_path}: no plan {candidate.name} {where} (pass --plans DIR)")


def _same_gpu(hw: HardwareProfile, gpu_name: str) -> bool:
    a, b = hw.gpu_name.lower(), gpu_name.lower()
    return a in b or b in a


def load_pair(run_path: Path, plans_dir: Path | None, hw: HardwareProfile) -> RunPair:
    """Read one run and its plan; one-line ValueErrors for a missing or mismatched plan or a run
    measured on another GPU than the profile describes."""
    run = RunReport.load_checked(run_path, "run report")
    plan_path = plan_path_for(run_path, run.plan_hash, plans_dir)
    plan = Plan.load_checked(plan_path, "plan")
    if run.plan_hash not in plan_file_hashes(plan_path):
        raise ValueError(f"{run_path}: measured another plan than {plan_path} (plan hash {run.plan_hash})")
    if run.gpu_name and not _same_gpu(hw, run.gpu_name):
        raise ValueError(f"{run_path}: ran on '{run.gpu_name}' but profile '{hw.name}' describes "
                         f"'{hw.gpu_name}'")
    return RunPair(run_stem(run_path), run_path, plan_path, plan.without_prediction(), run)


def load_pairs(run_paths: list[Path], plans_dir: Path | None, hw: HardwareProfile) -> list[RunPair]:
    """Every run with its plan (load_pair), each run once."""
    if plans_dir is not None and not plans_dir.is_dir():
        raise ValueError(f"--plans {plans_dir}: not a folder")
    seen, pairs = set(), []
    for path in run_paths:
        key = path.resolve()
        if key in seen:
            raise ValueError(f"{path}: given twice")
        seen.add(key)
        pairs.append(load_pair(path, plans_dir, hw))
    return pairs
