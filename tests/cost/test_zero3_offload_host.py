"""ZeRO-3 optimizer offload's pinned host memory and its start-up peak (cost/shapes.py
zero3_sub_groups, cost/host_memory.py), against the committed 1-GPU runs' pinned peaks
(RunReport.host_pinned_peak_bytes: torch's host allocator, cached blocks included)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mist_ds.config import RunReport, get_preset
from mist_ds.cost.conditions import writeback_cast_of
from mist_ds.cost.host_memory import _z3_pin_transient, host_peak_bytes
from mist_ds.cost.memory import SUB_GROUP_ELEMENTS
from mist_ds.cost.shapes import pow2_bytes, zero3_sub_groups
from mist_ds.cost.writeback import STAGING_BYTES
from mist_ds.predict import load_plan

ACCURACY = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy"
GIB = 2**30


def _sub_groups(model, ratio: float, dp: int = 1) -> tuple[float, float, float]:
    """(CPU share, pinned fp32 gradient bytes, largest GPU sub-group's elements) of a whole-model stage."""
    groups = zero3_sub_groups(model, np.array(1), np.array(dp), np.array(model.num_layers), np.array(1.0),
                              np.array(1.0), np.array(float(not model.tie_embeddings)), np.array(ratio),
                              SUB_GROUP_ELEMENTS)
    return tuple(float(v) for v in groups)


def _optimizer_offload_runs() -> list[tuple[str, object, RunReport]]:
    """The committed one-stage ZeRO-3 runs with the optimizer (not the weights) offloaded."""
    found = []
    for path in sorted(ACCURACY.glob("*.plan.json")):
        plan = load_plan(str(path))
        memory, run_path = plan.memory, path.with_name(path.name.replace(".plan.json", ".run.json"))
        if (plan.executor != "deepspeed" or memory.zero_stage != 3 or memory.offload_optimizer_ratio <= 0
                or memory.offload_weights_ratio > 0 or plan.tp != 1 or plan.num_stages != 1 or not run_path.exists()):
            continue
        run = RunReport.model_validate_json(run_path.read_text())
        if run.status == "ok" and run.host_pinned_peak_bytes and run.host_pinned_peak_bytes[0]:
            found.append((path.name, plan, run))
    return found


def test_the_pinned_peak_is_the_gradient_buffer_and_every_block_the_fp32_gradients_left():
    """Each run's pinned peak is the 16-bit gradient buffer (2P rounded up to a power of two) plus the
    fp32 gradient blocks torch's allocator owns, GPU sub-groups' cached blocks included, plus the 'device'
    write-back's pinned staging chunks where the run wrote back that way (session 69's first such run:
    128 MiB more; within the few KiB of small pinned tensors)."""
    runs = _optimizer_offload_runs()
    assert len(runs) >= 10
    ratios, ways = set(), set()
    for name, plan, run in runs:
        partition = -(-plan.model.num_params // plan.dp)
        _, blocks, _ = _sub_groups(plan.model, plan.memory.offload_optimizer_ratio, plan.dp)
        way = writeback_cast_of(run.writeback_cast)
        ways.add(way)
        predicted = float(pow2_bytes(2.0 * partition)) + blocks + (way == "device") * STAGING_BYTES
        assert abs(predicted - run.host_pinned_peak_bytes[0]) < 2**20, name
        ratios.add(plan.memory.offload_optimizer_ratio)
    assert {0.125, 0.5, 1.0} <= ratios and ways == {"host", "device"}


def test_a_gpu_sub_groups_pinned_block_stays_cached_when_nothing_reuses_its_size():
    """Llama 3.2 1B at ratio 0.125: the first sub-group (the tied 128k x 2048 table, 1.05e9 fp32 bytes)
    stays on the GPU, but its fp32 gradient was pinned first, and no later request takes the 1 GiB block."""
    model = get_preset("llama3.2-1b")
    share, pinned, _ = _sub_groups(model, 0.125)
    assert 0.10 < share < 0.125
    assert pinned == 1 * GIB + 512 * 2**20 + 128 * 2**20  # the cached 1 GiB and the two CPU groups' blocks
    assert _sub_groups(model, 0.0)[1] == 0.0  # nothing offloaded: no host gradients at all


@pytest.mark.parametrize("pinned_grads, master, expected", [(2.5e9, 0.5e9, True), (2.5e9, 8e9, False)])
def test_the_gradient_buffers_pinning_is_the_peak_only_while_little_is_offloaded(pinned_grads, master, expected):
    """While the pageable 2P copy is pinned, the fp32 masters and pinned fp32 gradients exist but not
    CPU Adam's states: above the steady state at a small ratio, below it at a large one."""
    t = {"host_z3_grads16": np.array(pinned_grads), "z3": np.array(1.0), "cpu_group_grad_buffers": np.array(1 * GIB),
         "host_z3_params16": np.array(0.0), "pinned_param_partitions": np.array(0.0), "host_master": np.array(master)}
    transient = float(_z3_pin_transient(t))
    steady = float(pow2_bytes(pinned_grads)) + GIB + master + 2 * master  # pinned + masters + Adam (8 vs 4 bytes)
    assert transient == pytest.approx(float(pow2_bytes(pinned_grads)) + GIB + master + pinned_grads)
    assert (transient > steady) is expected


class _Link:
    """One GB/s each way."""

    @staticmethod
    def h2d_s(nbytes):
        return np.asarray(nbytes, float) / 1e9

    d2h_s = h2d_s


@pytest.mark.parametrize("backward_wall, exposed", [(10.0, 2.0), (3.0, 3.0), (5.0, 2.0)])
def test_the_embeddings_gradient_round_trip_is_exposed_however_short_the_chain(backward_wall, exposed):
    """The gradient round trip (6 s here) hides behind the backward, but the embedding's and the open
    reduce bucket's (0.6 + 0.4 s each way) start only after the backward's compute: the exposed time
    is at least their round trip."""
    from mist_ds.cost.stage_time import copy_chain_s

    t = {"num_layers": np.array(4.0), "num_recompute": np.array(0.0), "h2d_mb_bytes": np.array(3e9),
         "d2h_mb_bytes": np.array(3e9), "tail_mb_bytes": np.array(0.6e9), "open_bucket_mb_bytes": np.array(0.4e9)}
    assert float(copy_chain_s(_Link(), t, np.array(backward_wall), np.array(0.0))) == pytest.approx(exposed)


def test_the_open_reduce_bucket_is_what_greedy_packing_leaves_after_the_last_block():
    """DeepSpeed reduces the bucket before a gradient that would overflow it; the hooks fire from the
    head (matrix, final norm) back through the blocks, each block's tensors reversed. Llama 3.2 1B
    (tied head, blocks of 60,821,504 elements in tensors of 2048 / 6,291,456 / 4,194,304 / 2048 /
    33,554,432 / 16,777,216) at 200M elements a bucket, replayed by hand."""
    from mist_ds.config import get_preset
    from mist_ds.cost.shapes import _layer_tensors, zero3_open_bucket

    model = get_preset("llama3.2-1b")

    def by_hand(layers, head):
        filled = 0
        for numel in head + _layer_tensors(model, 1)[::-1] * layers:
            filled = numel if filled and filled + numel > 200_000_000 else filled + numel
        return filled

    got = zero3_open_bucket(model, np.array([1, 1, 1]), np.array([16, 15, 8]), np.array([1, 0, 1]),
                            np.array([0, 0, 1]), 200_000_000)
    assert list(got) == [by_hand(16, [2048]), by_hand(15, []), by_hand(8, [128256 * 2048, 2048])]
    assert got[0] == 44_044_288 and got[1] != got[0]


def test_sub_groups_and_open_bucket_of_no_rows_are_empty():
    """A search batch whose rows were all filtered out reaches the tables with empty columns (gpt-13b on
    the 1-GPU node crashed there with an IndexError); they give empty results of the right shape."""
    from mist_ds.config import get_preset
    from mist_ds.cost.shapes import zero3_open_bucket

    model, none = get_preset("gpt-1.3b"), np.zeros(0)
    share, pinned, gpu_group = zero3_sub_groups(model, none, none, none, none, none, none, none, 100_000_000)
    assert share.shape == pinned.shape == gpu_group.shape == (0,)
    assert zero3_open_bucket(model, none, none, none, none, 200_000_000).shape == (0,)


def test_weight_offload_writes_back_through_a_host_buffer_of_the_largest_gpu_sub_group():
    """Under offload_param each GPU sub-group's fp32 master crosses to the 16-bit CPU partition through a fresh
    pageable fp32 tensor of the group's size when DeepSpeed writes it back (cost/stage.py host_writeback_temp):
    Llama 3.2 1B's tied 128k x 2048 table fills the first group alone, so with the optimizer on the GPU that group
    sets the buffer; with it all offloaded no group is on the GPU, and without weight offload the copy stays on
    the device."""
    from mist_ds.config.profiles import load_hardware
    from mist_ds.cost.stage import StageCostModel
    from mist_ds.cost.stage_args import stage_args

    model = get_preset("llama3.2-1b")
    embedding = model.vocab_size * model.hidden_size
    assert _sub_groups(model, 0.0)[2] == embedding
    from mist_ds.cost import RunConditions

    # DeepSpeed's write-back ('host'); the runtime's 'device' way keeps no such buffer (tests/cost/test_writeback.py)
    stage = StageCostModel(model, load_hardware("h200-1gpu-node"), 4096, gpus_per_node=1,
                           conditions=RunConditions(writeback_cast="host"))

    def terms(weights: float, ratio: float) -> dict:
        return stage.terms(stage_args(stage_index=0, num_stages=1, num_layers=model.num_layers, micro_batch=1, dp=1,
                                      tp=1, grad_accum=2, zero_stage=3, offload_weights=weights,
                                      offload_gradients=ratio, offload_optimizer=ratio, num_recompute=0,
                                      num_offloaded=0))

    t = terms(1.0, 0.0)
    assert float(t["host_writeback_temp"]) == 4 * embedding
    assert float(terms(1.0, 1.0)["host_writeback_temp"]) == float(terms(0.0, 0.5)["host_writeback_temp"]) == 0.0
    # the buffer lives on top of the steady state (the pinned 16-bit partition) at the step
    base = stage.hw.host_process_base_bytes
    assert float(host_peak_bytes(t, base) - host_peak_bytes({**t, "host_writeback_temp": np.zeros(())}, base)) \
        == 4 * embedding
