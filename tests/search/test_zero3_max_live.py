"""Plan.zero3_max_live: stock-DeepSpeed ZeRO-3 plans from the search bound stage3_max_live_parameters to
the reuse set (cost/memory.py zero3_reuse_set), the emitted ds_config carries that number, the cost
model prices what stays gathered under it, and plans written before the field keep their content hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mist_ds.api import tune
from mist_ds.config import ClusterSpec, Plan, SearchSpace, TuneRequest, resolve_model
from mist_ds.config.executors import STOCK_DEEPSPEED
from mist_ds.config.profiles import load_hardware
from mist_ds.config.units import GIB
from mist_ds.cost import predict_plan
from mist_ds.cost.memory import gathered_elements, stage_params, zero3_reuse_set
from mist_ds.cost.symbols import VS, numeric, tp
from mist_ds.emit.ds_config import build_ds_config

ROOT = Path(__file__).resolve().parents[2]
HW = load_hardware("h200")
W1_OFF1 = ROOT / "bench/results/accuracy/g13-1g-c24-s2048-z3-w1-off1-mb2.plan.json"


def test_a_plan_written_before_the_field_reads_and_writes_unchanged():
    text = W1_OFF1.read_text()
    plan = Plan.from_json_text(text)
    assert plan.zero3_max_live == "deepspeed_default" and plan.to_json() == text
    bounded = Plan.from_json_text(plan.model_copy(update={"zero3_max_live": "reuse_set"}).to_json())
    assert bounded.zero3_max_live == "reuse_set" and bounded.content_hash() != plan.content_hash()


def test_the_bound_needs_stock_deepspeed_zero3():
    data = Plan.load(W1_OFF1).model_dump()
    data["memory"] = {"zero_stage": 2}
    with pytest.raises(ValidationError, match="needs the deepspeed executor with ZeRO-3"):
        Plan.model_validate({**data, "zero3_max_live": "reuse_set"})


def test_gpt_1_3b_emits_its_reuse_set_and_the_model_prices_what_it_saves():
    plan = Plan.load(W1_OFF1).without_prediction()
    bounded = plan.model_copy(update={"zero3_max_live": "reuse_set"})
    assert build_ds_config(plan)["zero_optimization"]["stage3_max_live_parameters"] == 10**9
    live = build_ds_config(bounded)["zero_optimization"]["stage3_max_live_parameters"]
    assert live == zero3_reuse_set(plan.model, 1, 24) == pytest.approx(560.1e6, rel=1e-3)
    saved = (predict_plan(plan, HW).stages[0].peak_memory_bytes
             - predict_plan(bounded, HW).stages[0].peak_memory_bytes)
    # 0.82 GiB of bf16 parameters (plus the allocator allowance on them, hardware.py)
    assert saved == pytest.approx(2 * (10**9 - live) * (1 + HW.allocator_overhead_fraction), rel=1e-9)


def test_below_the_reuse_set_the_model_prices_the_measured_saving():
    # 1x H200 (S18-3, bench/results/runtime/max_live_S18/): max_live 4e8 and 2e8, both below gpt-1.3b's
    # reuse set, peaked at the same 8.016 GiB allocated, 0.914 GiB under max_live 1e9 (8.930 GiB)
    plan = Plan.load(W1_OFF1)
    _, per_layer, embedding, _ = stage_params(plan.model)
    per_layer, ends = numeric(per_layer.subs(tp, 1)), numeric(embedding.subs(VS, plan.model.vocab_size))
    params = 24 * per_layer + ends
    held = {live: numeric(gathered_elements(per_layer, 24, ends, params, max_live=live)) for live in (1e9, 4e8, 2e8)}
    assert held[4e8] == held[2e8]
    assert 2 * (held[1e9] - held[4e8]) / GIB == pytest.approx(0.914, abs=0.005)


def test_the_search_bounds_its_zero3_plans_and_predicts_them_as_predict_does():
    request = TuneRequest(model=resolve_model("llama-7b"), cluster=ClusterSpec(num_nodes=1, gpus_per_node=2),
                          global_batch_size=8, seq_len=4096, gpu_memory_cap_bytes=40 * GIB,
                          space=SearchSpace(pipeline=False, zero_stages=(3,), executors=("deepspeed",)))
    plans = tune(request, HW, top_k=2).plans
    assert plans
    for plan in plans:
        assert plan.zero3_max_live == "reuse_set"
        assert plan.prediction == predict_plan(plan.without_prediction(), HW)
        live = build_ds_config(plan)["zero_optimization"]["stage3_max_live_parameters"]
        assert live < STOCK_DEEPSPEED.constants.stage3_max_live_parameters
