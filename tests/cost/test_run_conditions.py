"""RunConditions (cost/conditions.py): its defaults are what the runtime does now, and of_run reads a
committed run's records (or, where a record is missing, what the runtime did before it existed)."""

from __future__ import annotations

import inspect
from dataclasses import fields
from pathlib import Path

from mist_ds.config import Plan, RunReport
from mist_ds.cost import RunConditions
from mist_ds.cost.act_offload import COPY_DEFAULT
from mist_ds.cost.kernel_set import KernelSet
from mist_ds.cost.mistpipe_state import EngineBuffers
from mist_ds.cost.mistpipe_windows import QUEUE_BLOCKS

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"


def conditions_of(folder: str, name: str) -> RunConditions:
    plan = Plan.load_checked(RESULTS / folder / f"{name}.plan.json", "plan").without_prediction()
    return RunConditions.of_run(plan, RunReport.load_checked(RESULTS / folder / f"{name}.run.json", "run report"))


def test_every_field_has_a_docstring():
    source = inspect.getsource(RunConditions)
    for field in fields(RunConditions):
        line = next(line for line in source.splitlines() if line.strip().startswith(f"{field.name}:"))
        following = source.splitlines()[source.splitlines().index(line) + 1].strip()
        assert following.startswith('"""'), field.name


def test_the_defaults_are_what_the_runtime_does():
    from mist_ds.runtime import host_saves
    from mist_ds.runtime.mistpipe import actoffload, stage

    default = RunConditions()
    assert default.kernels is None and default.zero_init is True and default.optimizer_path is None
    assert default.act_offload_copy == COPY_DEFAULT == host_saves.COPY_MODE
    assert default.d2h_queue_blocks == QUEUE_BLOCKS == actoffload.QUEUE_BLOCKS
    assert default.fused_wgrad is stage.FUSED_WGRAD is True
    engine = EngineBuffers()
    assert (default.host_buffers, default.swap_gradients) == (engine.host_buffers, engine.swap_gradients)
    from mist_ds.runtime.mistpipe.optimizer import recorded_norm_in_pieces

    mistpipe = type("P", (), {"executor": "mistpipe", "head_loss": "logits"})()
    assert default.norm_in_pieces is engine.norm_in_pieces is recorded_norm_in_pieces(mistpipe) is True
    from mist_ds.runtime.mistpipe.engine import recorded_releases_logits

    assert default.releases_logits is recorded_releases_logits(mistpipe) is True
    assert default.fused_head_wgrad is default.fused_tied_head_wgrad is stage.recorded_fused_head_wgrad(mistpipe) is True
    from mist_ds.runtime.mistpipe.engine import recorded_fused_head_loss

    assert default.fused_head_loss is recorded_fused_head_loss(mistpipe) is False
    from mist_ds.runtime.build import build_runtime

    runtime_default = inspect.signature(build_runtime).parameters["writeback_cast"].default
    assert default.writeback_cast == runtime_default == rank_default("--writeback-cast") == "device"


def rank_default(option: str) -> str:
    """The default `mist_ds.train` gives `option` (runtime/rank.py parse_args)."""
    from mist_ds.runtime.rank import parse_args

    return getattr(parse_args(["--plan", "p.json"]), option.lstrip("-").replace("-", "_"))


def test_a_write_back_record_is_read_and_a_missing_one_is_deepspeeds_way():
    plan = Plan.load_checked(RESULTS / "accuracy" / "h100-l321b-1g-c78-s4096-b16-z3-w1-mb4.plan.json", "plan")
    run = RunReport.load_checked(RESULTS / "accuracy" / "h100-l321b-1g-c78-s4096-b16-z3-w1-mb4.run.json", "run")
    assert run.writeback_cast is None and RunConditions.of_run(plan, run).writeback_cast == "host"
    cast = run.model_copy(update={"writeback_cast": "device"})
    assert RunConditions.of_run(plan, cast).writeback_cast == "device"


def test_a_run_of_the_fused_head_loss_is_priced_under_it():
    """RunReport.fused_head_loss (bench/engine/fused_head_loss_train.py's runs) reaches RunConditions."""
    plan = Plan.load_checked(RESULTS / "accuracy" / "h100n-auto-l38b-1g-c78-s4096-b16.plan.json", "plan")
    run = RunReport.load_checked(RESULTS / "accuracy" / "repeats" / "h100n-auto-l38b-1g-c78-s4096-b16.S58-1.run.json",
                                 "run report")
    assert RunConditions.of_run(plan.without_prediction(), run).fused_head_loss is False
    fused = run.model_copy(update={"fused_head_loss": True})
    assert RunConditions.of_run(plan.without_prediction(), fused).fused_head_loss is True


def test_a_recent_mistpipe_run_is_read_from_its_records():
    """S14-S15's runs record every engine option of their time: the swap path, the d2h bound, fused weight
    gradients (not session 57's norm in pieces and logits release, nor session 58's fused head gradient)."""
    got = conditions_of("accuracy", "l13b-1g-c24-s2048-mp-mb4-act12-off1")
    assert got == RunConditions(kernels=KernelSet(norm="torch", activation="liger", rope="compile", loss="liger"),
                                zero_init=False, act_offload_copy=COPY_DEFAULT, optimizer_path="gpu_swap",
                                d2h_queue_blocks=4, swap_gradients="device", host_buffers="registered",
                                fused_wgrad=True, norm_in_pieces=False, releases_logits=False,
                                fused_head_wgrad=False, fused_tied_head_wgrad=False, writeback_cast="host")


def test_todays_mistpipe_run_records_the_norm_in_pieces():
    """S57-3's repeat of the Llama-3-8B winner ran the engine's gradient norm without whole-unit temporaries."""
    plan = Plan.load_checked(RESULTS / "accuracy" / "h100n-auto-l38b-1g-c78-s4096-b16.plan.json", "plan")
    run = RunReport.load_checked(RESULTS / "accuracy" / "repeats" / "h100n-auto-l38b-1g-c78-s4096-b16.S57-3.run.json",
                                 "run report")
    assert run.norm_in_pieces is True and RunConditions.of_run(plan.without_prediction(), run).norm_in_pieces is True


def test_todays_mistpipe_run_records_the_release_and_the_fused_head():
    """S58-1's repeat of the Llama-3-8B winner released its logits and added its untied head's gradient in its GEMM
    (a tied head's was still fresh then)."""
    plan = Plan.load_checked(RESULTS / "accuracy" / "h100n-auto-l38b-1g-c78-s4096-b16.plan.json", "plan")
    run = RunReport.load_checked(RESULTS / "accuracy" / "repeats" / "h100n-auto-l38b-1g-c78-s4096-b16.S58-1.run.json",
                                 "run report")
    got = RunConditions.of_run(plan.without_prediction(), run)
    assert run.releases_logits is run.fused_head_wgrad is True and got.releases_logits is got.fused_head_wgrad is True
    assert run.fused_tied_head_wgrad is None and got.fused_tied_head_wgrad is False


def test_an_old_mistpipe_run_gets_what_the_engine_did_before_the_records():
    """engine:llama13b_2gpu_c/mistpipe (2026-11-30) recorded only its kernels and DeepSpeedCPUAdam."""
    got = conditions_of("engine/executor_compare_llama13b_2gpu_c", "mistpipe")
    assert got == RunConditions(kernels=KernelSet(loss="chunked"), zero_init=False, optimizer_path="cpu_adam",
                                d2h_queue_blocks=0, swap_gradients="host", host_buffers="torch_pinned",
                                fused_wgrad=False, norm_in_pieces=False, releases_logits=False,
                                fused_head_wgrad=False, fused_tied_head_wgrad=False, writeback_cast="host")


def test_an_old_stock_activation_offload_run_blocked_in_its_pack():
    """torch 2.11's save_on_cpu, no copy record; no kernels recorded: the eager set."""
    got = conditions_of("accuracy", "l7-2g-c78-z3-mb1-rc16-act16")
    assert got.act_offload_copy == "blocking" and got.kernels == KernelSet() and got.zero_init is False

