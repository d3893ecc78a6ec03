"""What an executor runs, both directions: every setting the search enumerates is accepted, and every
accepted setting on the executor's grids is enumerated; the rules say what DeepSpeed's own checks say."""

from __future__ import annotations

import itertools

import pytest

from mist_ds.config.executors import (EXECUTORS, MISTPIPE, OPTIMIZER_RATIOS, STOCK_DEEPSPEED, Setting,
                                      get_executor, offloaded_layer_count)

RATIOS = sorted(set(OPTIMIZER_RATIOS) | {0.3})  # 0.3: off the grid, accepted but never enumerated


def _all_settings():
    for zero, w, g, o in itertools.product(range(4), RATIOS, RATIOS, RATIOS):
        yield Setting(zero, w, g, o)


@pytest.mark.parametrize("name", sorted(EXECUTORS))
@pytest.mark.parametrize("stages", [1, 2, 4])
def test_enumerated_iff_accepted_on_the_grids(name, stages):
    executor = EXECUTORS[name]
    enumerated = executor.memory_settings(stages, range(4))
    assert len(set(enumerated)) == len(enumerated)
    # the grids by hand (not through on_grids): stock couples gradients to the optimizer states
    grid_w, grid_o = set(executor.weight_ratios), set(executor.optimizer_ratios)
    for setting in _all_settings():
        accepted = not executor.setting_violations(stages, setting)
        grads_ok = (setting.offload_gradients_ratio == setting.offload_optimizer_ratio
                    if executor.gradient_ratios is None
                    else setting.offload_gradients_ratio in executor.gradient_ratios)
        on_grid = (setting.offload_weights_ratio in grid_w and setting.offload_optimizer_ratio in grid_o
                   and grads_ok and setting.zero_stage in executor.zero_grid)
        assert (setting in enumerated) == (accepted and on_grid), setting
        assert executor.on_grids(setting) == on_grid
    assert all(not executor.setting_violations(stages, s) for s in enumerated)


def test_offload_switches_shrink_the_enumeration_per_kind():
    full = MISTPIPE.memory_settings(2, range(4))
    assert len(full) == 3 * 3 * 3 * 5  # ZeRO 0/1/3 x weights x gradients x optimizer grids
    no_grads = MISTPIPE.memory_settings(2, range(4), gradients=False)
    assert {s.offload_gradients_ratio for s in no_grads} == {0.0} and len(no_grads) == 3 * 3 * 5
    only_opt = MISTPIPE.memory_settings(2, [1], weights=False, gradients=False)
    assert [s.offload_optimizer_ratio for s in only_opt] == list(MISTPIPE.optimizer_ratios)
    # stock: the gradient switch follows the optimizer's (DeepSpeed couples them)
    assert STOCK_DEEPSPEED.memory_settings(1, [2], weights=False) == \
        STOCK_DEEPSPEED.memory_settings(1, [2], weights=False, gradients=False)


def test_mistpipe_runs_what_stock_deepspeed_refuses():
    run = lambda *s: not MISTPIPE.setting_violations(2, Setting(*s))  # noqa: E731
    assert run(2) and run(3) and run(3, 0.5, 0.25, 0.75) and run(0, 0.5, 0.5, 0.5) and run(1, 0, 1.0, 0)
    assert not MISTPIPE.plan_violations(2, [Setting(3, 0.5), Setting(1)], "bf16")  # per-stage settings
    assert "trains in bf16, not fp16" in MISTPIPE.plan_violations(2, [Setting(1)], "fp16")[0]
    assert not STOCK_DEEPSPEED.plan_violations(2, [Setting(1)], "fp16")
    assert 2 not in MISTPIPE.zero_grid  # ZeRO-2 is accepted, but runs ZeRO-1's code: not enumerated


def test_stock_deepspeed_rules():
    ok = lambda stages, *s: not STOCK_DEEPSPEED.setting_violations(stages, Setting(*s))  # noqa: E731
    assert not ok(2, 2) and ok(1, 3) and ok(2, 1)                  # pipe/engine.py: ZeRO < 2
    assert ok(1, 3, 0, 0.5, 0.5) and not ok(1, 2, 0, 0.5, 0.5)     # fractional offload: ZeRO-3 only
    assert ok(1, 1, 0, 1.0, 1.0) and not ok(1, 0, 0, 1.0, 1.0)     # ZeRO-Offload needs ZeRO >= 1
    assert ok(1, 3, 1.0) and not ok(1, 3, 0.5) and not ok(1, 2, 1.0)  # offload_param: ZeRO-3, all
    assert not ok(1, 3, 0, 0.0, 1.0)                               # gradients go with the optimizer


def test_one_setting_for_all_stages():
    problems = STOCK_DEEPSPEED.plan_violations(2, [Setting(1), Setting(0)])
    assert problems and "one ZeRO/offload setting" in problems[0]


def test_the_constants_are_what_ds_config_writes():
    from mist_ds.config import ClusterSpec, get_preset
    from mist_ds.config.plan import MemoryStrategy, Plan, StagePlan
    from mist_ds.emit.ds_config import build_ds_config

    plan = Plan(model=get_preset("gpt-125m"), cluster=ClusterSpec(num_nodes=1, gpus_per_node=2),
                global_batch_size=8, seq_len=512, dp=2, tp=1, micro_batch_size=2, grad_accum_steps=2,
                memory=MemoryStrategy(zero_stage=3), stages=(StagePlan(layer_start=0, layer_end=12),))
    zero = build_ds_config(plan)["zero_optimization"]
    c = STOCK_DEEPSPEED.constants
    assert (zero["reduce_bucket_size"], zero["allgather_bucket_size"], zero["stage3_prefetch_bucket_size"],
            zero["stage3_max_live_parameters"], zero["stage3_max_reuse_distance"],
            zero["stage3_param_persistence_threshold"], zero["sub_group_size"]) == (
        c.reduce_bucket_elements, c.allgather_bucket_elements, c.stage3_prefetch_elements,
        c.stage3_max_live_parameters, c.stage3_max_reuse_distance, c.stage3_param_persistence_threshold,
        c.sub_group_size_elements)


def test_unknown_executor_is_a_one_line_error():
    with pytest.raises(ValueError, match="unknown executor 'megatron'; known: deepspeed, mistpipe"):
        get_executor("megatron")


def test_offloaded_layer_count_rounds_half_up():
    assert offloaded_layer_count(0.25, 10).tolist() == 3      # 2.5 -> 3
    assert offloaded_layer_count(0.5, 3).tolist() == 2        # 1.5 -> 2
    assert offloaded_layer_count(0.0, 7).tolist() == 0
    assert offloaded_layer_count(1.0, 7).tolist() == 7
