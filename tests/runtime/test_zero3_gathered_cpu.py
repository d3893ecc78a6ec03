"""ZeRO-3's gathered parameters at the forward/backward turn, as DeepSpeed's own coordinator
(partitioned_param_coordinator.py) holds them on 2 CPU ranks, against the cost model's
gathered_elements (cost/memory.py): the reuse rule alone without prefetching; with prefetching, up to
stage3_max_live_parameters (the whole model when it fits)."""

from __future__ import annotations

import json

import pytest

from mist_ds.cost.memory import gathered_elements
from mist_ds.cost.symbols import numeric
from tests.helpers import free_port, spawn_ranks
from tests.runtime.test_loss_equivalence import ROOT, cpu_env

# (stage3_max_reuse_distance, stage3_prefetch_bucket_size, stage3_max_live_parameters, fetch unit) of
# tiny-gpt8 (78656 elements: blocks of 8544, a 10240-element embedding): the reuse distance keeps 2 blocks
REUSE_ONLY, PREFETCH_WHOLE, PREFETCH_LIVE, LIVE_BELOW_REUSE = (
    (50_000, 0, 10**9, "module"), (50_000, 5_000, 10**9, "module"), (0, 5_000, 60_000, "module"),
    (50_000, 5_000, 20_000, "module"))
# blocks fetched whole (Plan.zero3_fetch_unit = 'block'): the same distances keep more blocks, and the bound
# on live parameters does not shrink the reuse set
BLOCK_SETTINGS = tuple((reuse, prefetch, live, "block") for reuse, prefetch, live in
                       ((30_000, 0, 10**9), (50_000, 0, 10**9), (80_000, 0, 10**9), (50_000, 5_000, 20_000)))
SETTINGS = (REUSE_ONLY, PREFETCH_WHOLE, PREFETCH_LIVE, LIVE_BELOW_REUSE, *BLOCK_SETTINGS)


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("zero3_gathered") / "held.json"
    proc = spawn_ranks("tests/runtime/zero3_gathered_worker.py", 2, free_port(),
                       ["--out", str(out), "--settings", json.dumps(SETTINGS)], cwd=ROOT, env=cpu_env(),
                       timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return dict(zip(SETTINGS, json.loads(out.read_text())))


def predicted(got: dict, setting) -> float:
    reuse, prefetch, live, unit = setting
    return numeric(gathered_elements(got["per_layer"], got["layers"], got["ends"], got["params"], reuse, prefetch,
                                     live, block_fetch=int(unit == "block")))


def test_without_prefetching_the_reuse_distance_keeps_the_last_blocks_and_the_ends(measured):
    got = measured[REUSE_ONLY]
    assert got["held"] == 2 * got["per_layer"] + got["ends"]   # DeepSpeed's own count
    assert predicted(got, REUSE_ONLY) == got["held"]


def test_prefetching_keeps_a_model_below_max_live_whole(measured):
    got = measured[PREFETCH_WHOLE]
    assert got["held"] == got["params"]
    assert predicted(got, PREFETCH_WHOLE) == got["params"]


def test_prefetching_keeps_up_to_max_live_parameters_and_at_most_one_parameter_more(measured):
    got = measured[PREFETCH_LIVE]
    assert 2 * got["per_layer"] + got["ends"] < 60_000 < got["params"]   # neither rule nor model binds
    assert predicted(got, PREFETCH_LIVE) <= got["held"] <= predicted(got, PREFETCH_LIVE) + got["largest_param"]


def test_below_the_reuse_set_max_live_leaves_the_reuse_set_without_a_prefetch_bucket(measured):
    # once max_live binds nothing is prefetched at the turn
    got = measured[LIVE_BELOW_REUSE]
    assert got["held"] == measured[REUSE_ONLY]["held"]
    assert predicted(got, LIVE_BELOW_REUSE) == got["held"]


@pytest.mark.parametrize("setting", BLOCK_SETTINGS, ids=lambda s: f"reuse{s[0]}-prefetch{s[1]}-live{s[2]}")
def test_blocks_fetched_whole_keep_the_blocks_the_forward_reaches_within_the_distance(measured, setting):
    got = measured[setting]
    assert got["held"] > measured[REUSE_ONLY]["held"] or setting[0] < REUSE_ONLY[0]
    # the kept blocks and the ends, and the final norm (64 elements) the model leaves out
    assert predicted(got, setting) <= got["held"] <= predicted(got, setting) + 64
