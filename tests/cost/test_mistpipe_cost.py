"""mistpipe's stage cost model (cost/mistpipe.py) against the engine that runs the plans.

Oracle for the memory terms: the tensors a real StageRuntime (runtime/mistpipe, one CPU process,
bf16 blocks) holds after an iteration, device-side and host-side, counted from the objects themselves;
the cost model never reads them. Time terms: hand arithmetic and invariants.
"""

from __future__ import annotations

import numpy as np
import pytest

from mist_ds.config import ClusterSpec, get_preset
from mist_ds.config.plan import MemoryStrategy, Plan, StagePlan
from mist_ds.config.profiles import load_hardware
from mist_ds.cost import RunConditions, predict_plan
from mist_ds.cost.mistpipe import MistpipeStageCostModel
from mist_ds.cost.mistpipe_state import SLOTS, fills_per_iteration
from mist_ds.cost.shapes import layer_shapes
from mist_ds.cost.stage_args import stage_args

from tests.runtime.plans import GPT

HW = load_hardware("h200")


def middle_stage(layers=3, dp=1, zero=0, ow=0.0, og=0.0, oo=0.0, na=0, r=0, micro=2, accum=4, tp=1):
    """A stage without embedding or head (index 1 of 3)."""
    return stage_args(stage_index=1, num_stages=3, num_layers=layers, micro_batch=micro, dp=dp, tp=tp,
                      grad_accum=accum, zero_stage=zero, offload_weights=ow, offload_gradients=og,
                      offload_optimizer=oo, num_recompute=r, num_offloaded=na)


def engine_bytes(memory, path: str = "gpu_swap", layers: int = 3) -> dict[str, int]:
    """Bytes of what a StageRuntime over `layers` bf16 GPT blocks holds after one iteration, its
    offloaded optimizer share on `path`."""
    import torch

    from mist_ds.runtime.blocks import TransformerBlock
    from mist_ds.runtime.mistpipe import StageMemory
    from mist_ds.runtime.mistpipe.stage import StageRuntime
    from mist_ds.runtime.mistpipe.streams import Streams
    from mist_ds.runtime.mistpipe.unit import UnitEnv

    torch.manual_seed(0)
    blocks = torch.nn.Sequential(*[TransformerBlock(GPT, dtype=torch.bfloat16, layer_index=i) for i in range(layers)])
    env = UnitEnv(streams=Streams(torch.device("cpu")), dtype=torch.bfloat16, dp_group=None, dp_world=1,
                  dp_rank=0, opt_world=1, pinned=False)
    rt = StageRuntime(blocks, StageMemory.of(memory) if not isinstance(memory, StageMemory) else memory, env,
                      hyper={"lr": 1e-3, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.0}, clip=1.0,
                      mp_group=None, tp_rank=0, is_block=lambda m: isinstance(m, TransformerBlock),
                      optimizer_offload_path=path)
    x = torch.randn(2, 8, GPT.hidden_size, dtype=torch.bfloat16)
    rt.begin_pass()
    blocks(x).float().pow(2).mean().backward()
    rt.reduce_gradients()
    rt.step()
    size = lambda *tensors: sum(t.numel() * t.element_size() for t in tensors if t is not None)  # noqa: E731
    opt = rt.optimizer
    dev_states = [v for adam in opt.device_adams if adam is not None for st in adam.state.values()
                  for v in st.values() if torch.is_tensor(v) and v.numel() > 1]
    host_states = [v for adam in opt.host_adams if adam is not None for st in adam.state.values()
                   for v in st.values() if torch.is_tensor(v) and v.numel() > 1]
    return {
        "weights": size(*[u.store_dev if u.managed else u.full for u in rt.units]),
        "weight_slots": size(*(rt.wslots.buffers if rt.wslots else [])),
        "gradients": size(*[u.acc_dev for u in rt.units]),
        "gradient_slots": size(*(rt.gslots.buffers if rt.gslots else [])),
        "optimizer": size(*[t for s in opt.shards for t in (s.master_dev, s.grad_dev)], *dev_states),
        "staging": size(*opt._shard16),
        "host_weights": size(*[u.store_host for u in rt.units if u.managed]),
        "host_gradients": size(*[u.acc_host for u in rt.units]),
        "host_optimizer": size(*[t for s in opt.shards for t in (s.master_host, s.grad_host, s.host16)],
                               *host_states, *(opt.swap.m + opt.swap.v if opt.swap else [])),
        # the gpu_swap path's device slots: master chunk, its gradient, Adam m and v
        "swap_slots": size(*[t for slot in (opt.swap.slots if opt.swap else [])
                             for t in (slot.param, slot.param.grad, slot.state["exp_avg"],
                                       slot.state["exp_avg_sq"])]),
        "d2h_ring": size(*(opt._ring or [])),
    }


MEMORIES = {
    "plain": MemoryStrategy(zero_stage=0),
    "zero3_everything_half": MemoryStrategy(zero_stage=3, offload_weights_ratio=0.5, offload_gradients_ratio=0.5,
                                            offload_optimizer_ratio=0.5),
    "weights_all_host": MemoryStrategy(zero_stage=1, offload_weights_ratio=1.0),
    "grads_and_optimizer_host": MemoryStrategy(zero_stage=1, offload_gradients_ratio=1.0,
                                               offload_optimizer_ratio=1.0),
    # the 1-GPU node's c24 winner's setting: the swap reads every gradient on the device
    "optimizer_only_host": MemoryStrategy(zero_stage=0, offload_optimizer_ratio=1.0),
}


@pytest.mark.parametrize("path", ["gpu_swap", "cpu_adam"])
@pytest.mark.parametrize("name", list(MEMORIES))
def test_state_bytes_are_what_the_engine_allocates(name, path):
    from mist_ds.runtime.mistpipe import StageMemory

    m = MEMORIES[name]
    memory = StageMemory(m.zero_stage, m.offload_weights_ratio, m.offload_gradients_ratio,
                         m.offload_optimizer_ratio)
    got = engine_bytes(memory, path)
    model = MistpipeStageCostModel(GPT, HW, seq_len=32, conditions=RunConditions(optimizer_path=path))
    parts = model.state_parts(middle_stage(zero=m.zero_stage, ow=m.offload_weights_ratio,
                                           og=m.offload_gradients_ratio, oo=m.offload_optimizer_ratio))
    for kind, nbytes in got.items():
        # each unit's flat space is padded to 64 elements (layout.py): under 2% of a tiny block
        assert float(parts[kind]) == pytest.approx(nbytes, rel=0.02, abs=0), kind


def test_the_step_transient_is_one_swap_chunk_today_and_a_whole_shard_before_session_57():
    """optimizer.py since session 57 squares device heads in place and upcasts a kept tail one swap chunk at a
    time; before, pow(2) and the whole-chunk upcast made one unit shard's fp32 (RunConditions.norm_in_pieces,
    a run's record through norm_in_pieces_of)."""
    from mist_ds.config.executors import MISTPIPE
    from mist_ds.cost.conditions import norm_in_pieces_of
    from mist_ds.cost.mistpipe_state import stage_sizes

    llama = get_preset("llama-7b")
    oo = np.array([0.0, 0.01, 1.0])
    args = middle_stage(layers=8, oo=oo)
    block = stage_sizes(llama, args.arrays())["block"]  # per entry of oo, all alike
    today, before = (MistpipeStageCostModel(llama, HW, seq_len=4096, conditions=RunConditions(norm_in_pieces=pieces))
                     .state_parts(args)["step_transient"] for pieces in (True, False))
    chunk = MISTPIPE.constants.swap_chunk_elements
    assert np.allclose(before, 4 * block)
    assert np.allclose(today, 4 * np.minimum(chunk, block * oo)) and today[0] == 0 and 0 < today[1] < today[2]
    assert norm_in_pieces_of(None) is False and norm_in_pieces_of(True) is True


def test_sharding_divides_what_each_rank_keeps():
    model = MistpipeStageCostModel(get_preset("llama-7b"), HW, seq_len=4096)
    one, four = (model.state_parts(middle_stage(layers=8, dp=dp, zero=3)) for dp in (1, 4))
    assert float(four["weights"]) == pytest.approx(float(one["weights"]) / 4)
    assert float(four["optimizer"]) == pytest.approx(float(one["optimizer"]) / 4)
    # gradients accumulate in a full-size buffer whatever the ZeRO stage (unit.py acc_dev)
    assert float(four["gradients"]) == float(one["gradients"])
    block = layer_shapes(get_preset("llama-7b")).sharded_params + layer_shapes(get_preset("llama-7b")).replicated_params
    assert float(four["weight_slots"]) == SLOTS * 2 * block  # three full blocks, bf16


def test_zero_above_0_with_one_data_parallel_rank_is_never_better():
    """What search/space.py relies on to enumerate only ZeRO-0 for dp = 1 mistpipe stages."""
    model = MistpipeStageCostModel(get_preset("gpt-1.3b"), HW, seq_len=2048)
    grid = dict(layers=np.arange(1, 13)[:, None], ow=np.array([0.0, 0.5, 1.0])[None, :])
    base = model.evaluate(middle_stage(zero=0, **grid))
    for zero in (1, 2, 3):
        other = model.evaluate(middle_stage(zero=zero, **grid))
        assert np.all(other.peak_memory_bytes >= base.peak_memory_bytes - 1e-6)
        assert np.all(other.stable_time_s >= base.stable_time_s - 1e-12)
        assert np.all(other.delta_time_s >= base.delta_time_s - 1e-12)


def test_time_breakdown_adds_up_and_offload_is_hidden_until_it_outgrows_compute():
    model = MistpipeStageCostModel(get_preset("llama-7b"), HW, seq_len=4096)
    args = middle_stage(layers=8, micro=4, dp=2, zero=3, ow=np.array([0.0, 0.5, 1.0]), og=0.5, oo=0.25, na=2, accum=8)
    cost = model.evaluate(args)
    parts = cost.compute_s + cost.recompute_s + cost.tp_comm_s + cost.dp_comm_s + cost.offload_s + cost.optimizer_s
    assert np.allclose(parts, 8 * cost.stable_time_s + cost.delta_time_s)
    # H200: 8 blocks' fwd+bwd of a (4, 4096) micro-batch take far longer than copying their weights
    assert np.allclose(cost.stable_time_s, cost.stable_time_s[0], rtol=0.05)
    assert np.all(np.diff(cost.peak_memory_bytes) < 0)


def test_fused_weight_gradients_save_two_of_the_three_passes_over_device_section_linears():
    """accumulate_s: unfused, 3 e bytes per block element; fused, e bytes per linear weight element of the
    device gradient section (the GEMM's read of C) and 3 e for the rest; a run's record picks it."""
    from mist_ds.cost.mistpipe import accumulate_s
    from mist_ds.cost.mistpipe_state import stage_sizes
    from mist_ds.cost.conditions import fused_wgrad_of
    from mist_ds.cost.rates import Rates

    rates, sizes = Rates(HW, 1), stage_sizes(GPT, middle_stage().arrays())
    block, linear = float(sizes["block"]), float(sizes["linear"])
    assert linear == layer_shapes(GPT).matmul_params and 0.9 * block < linear < block
    copy = lambda nbytes: float(rates.copy_s(nbytes))  # noqa: E731
    assert float(accumulate_s(rates, sizes, 0.0, False)) == pytest.approx(copy(3 * 2 * block))
    assert float(accumulate_s(rates, sizes, 0.0, True)) == pytest.approx(copy(3 * 2 * (block - linear) + 2 * linear))
    assert float(accumulate_s(rates, sizes, 1.0, True)) == pytest.approx(copy(3 * 2 * block))  # all on the host
    # half the unit on the host: llama-7b's q|k|v and output projections end in the device half (their
    # 4 h^2 of the block's ~12 h^2), gate|up and down do not; recomputed, the down projection is never fused
    llama_sizes = stage_sizes(get_preset("llama-7b"), middle_stage().arrays())
    h, f, llama_block = 4096, 11008, float(llama_sizes["block"])
    assert float(accumulate_s(rates, llama_sizes, 0.5, True)) == pytest.approx(
        copy(3 * 2 * (llama_block - 4 * h * h) + 2 * 4 * h * h))
    assert float(accumulate_s(rates, llama_sizes, 0.0, True, recomputed=True)) == pytest.approx(
        copy(3 * 2 * (llama_block - 4 * h * h - 2 * h * f) + 2 * (4 * h * h + 2 * h * f)))
    llama = get_preset("llama-7b")  # GPU-bound at seq 4096, so the GPU's saving is the iteration's
    llama_linear = float(stage_sizes(llama, middle_stage().arrays())["linear"])
    fused, unfused = (MistpipeStageCostModel(llama, HW, seq_len=4096, conditions=RunConditions(fused_wgrad=f)).evaluate(
        middle_stage(layers=8, accum=16, micro=1)) for f in (True, False))
    total = lambda cost: float(16 * cost.stable_time_s + cost.delta_time_s)  # noqa: E731
    assert total(unfused) - total(fused) == pytest.approx(8 * 16 * copy(2 * 2 * llama_linear), rel=1e-6)
    assert fused_wgrad_of(None) is False and fused_wgrad_of(True) is True


def test_fills_per_iteration_match_the_engines_counts():
    """A pass finds the previous pass's last SLOTS blocks in the LRU slots; the engine's own counter
    (StageRuntime.num_fills) on 2x H200, gpt-1.3b PP2, 12 blocks a stage, 4 micro-batches, 5 steps
    (bench/results/engine/s5_offload/offload_all.json: 405 on stage 0, 375 on stage 1)."""
    for inflight, measured in ((2, 405), (1, 375)):
        steady, extra = fills_per_iteration(12, 4, inflight)
        assert 5 * (4 * steady + extra) == measured
    steady, extra = fills_per_iteration(np.array([2, 3, 8]), 4, 1)
    assert (4 * steady + extra).tolist() == [2, 3, 4 * 2 * (8 - SLOTS) + SLOTS]  # few blocks: all stay


def test_activation_loads_hide_only_behind_the_block_above():
    """stage.py backward_begin: the top offloaded block's load hides behind the kept blocks above it
    (or nothing: exposed), each other one behind one block's backward. With loads longer than a
    block's backward (llama-7b, mb 1, seq 4096: ~11 ms of h2d against ~7 ms), each of the na - 1
    lower loads shows its excess; the whole-micro-batch channel overlap would hide all of them."""
    model = MistpipeStageCostModel(get_preset("llama-7b"), HW, seq_len=4096)
    a = middle_stage(layers=16, micro=1, accum=32, r=1, na=np.array([0, 2, 11])).arrays()
    s, t = model._sizes(a), model._shared_terms(a)
    mb = model._microbatch(s, t, a)
    f, b = (float(model._compute(np.array(1.0), np.array(1.0))[..., i]) for i in range(2))
    b += float(model.rates.copy_s(3 * 2 * s["block"][0]))  # the gradient accumulation's add
    load = float(model.rates.h2d_s(t["layer_saved"][0]))
    assert load > b + 1e-3
    excess = mb["forward_wall"] + mb["backward_wall"] - mb["compute"] - mb["recompute"]
    assert abs(excess[0]) < 0.01 * mb["compute"][0]  # nothing offloaded: the windows are the compute
    for i, na in ((1, 2), (2, 11)):  # 4 kept blocks above hide the top load; each lower one shows its excess
        assert excess[i] >= (na - 1) * (load - b) * 0.99
    assert excess[2] > 5 * excess[1]
    top = middle_stage(layers=12, micro=1, accum=32, r=1, na=11).arrays()  # no kept block above
    mb_top = model._microbatch(model._sizes(top), model._shared_terms(top), top)
    excess_top = mb_top["forward_wall"] + mb_top["backward_wall"] - mb_top["compute"] - mb_top["recompute"]
    assert excess_top[()] >= excess[2] + load * 0.99  # the top block's own load, fetched when it starts
    cost = model.evaluate(middle_stage(layers=16, micro=1, accum=32, r=1, na=np.array([0, 11])))
    assert cost.stable_time_s[1] > cost.stable_time_s[0] + 10 * (load - b) * 0.99


def test_host_passes_overlap_the_gpu_per_pass():
    """cost/host_overlap.py host_overlap: a stage's per-pass host work (profile host_layer_overhead_s) shows
    only where it exceeds the GPU's pass; a pipeline stage's per-micro-batch work is added in full."""
    model = MistpipeStageCostModel(get_preset("gpt-1.3b"), HW, seq_len=2048)
    args = middle_stage(layers=12, micro=4, accum=4)
    a = args.arrays()
    forward_wall = float(model._microbatch(model._sizes(a), model._shared_terms(a), a)["forward_wall"])
    cost = model.evaluate(args)
    assert 12 * HW.host_layer_overhead_s < forward_wall  # per pass: the GPU's is longer
    assert np.isclose(cost.stable_time_s, _gpu_micro_batch(model, args) + HW.host_microbatch_overhead_s, rtol=1e-9)


def only_stage(layers=12, ow=0.0, micro=4, accum=4):
    """The single stage of a one-stage plan (embedding and head on it)."""
    return stage_args(stage_index=0, num_stages=1, num_layers=layers, micro_batch=micro, dp=1, tp=1,
                      grad_accum=accum, zero_stage=0, offload_weights=ow, offload_gradients=0.0,
                      offload_optimizer=0.0, num_recompute=0, num_offloaded=0)


def _gpu_micro_batch(model, args):
    a = args.arrays()
    s, t = model._sizes(a), model._shared_terms(a)
    mb = model._microbatch(s, t, a)
    return float(np.maximum(mb["forward_wall"] + mb["backward_wall"], mb["compute"] + mb["recompute"]))


def test_a_single_stage_hides_its_per_micro_batch_host_work_behind_the_gpu():
    """The engine's micro-batch loop never waits on the GPU on one stage (cost/mistpipe.py _microbatch_host):
    its per-micro-batch work queues ahead and shows only where the host falls behind; with pipeline stages
    PipelineEngine's blocking p2p drains the queue and it shows in full."""
    hw = HW.model_copy(update={"mistpipe_microbatch_overhead_s": 0.005, "mistpipe_layer_overhead_s": 1e-4})
    model = MistpipeStageCostModel(get_preset("gpt-1.3b"), hw, seq_len=2048)
    gpu = _gpu_micro_batch(model, only_stage())
    assert 0.005 + 12 * 1e-4 < gpu / 3  # the host's forward is shorter than the GPU's
    assert float(model.evaluate(only_stage()).stable_time_s) == pytest.approx(gpu, rel=1e-9)
    piped = middle_stage(layers=12, micro=4, accum=4)
    assert float(model.evaluate(piped).stable_time_s) == pytest.approx(_gpu_micro_batch(model, piped) + 0.005, rel=1e-9)
    slow = model.__class__(get_preset("gpt-1.3b"), hw.model_copy(update={"mistpipe_microbatch_overhead_s": 10.0}),
                           seq_len=2048)
    cost = slow.evaluate(only_stage())  # host-bound forward: the GPU waits for it
    assert float(cost.stable_time_s) > 10.0 and float(cost.host_wait_s) > 4 * 9.9


def test_streamed_blocks_add_their_host_work_per_pass_only_when_weights_are_offloaded():
    hw = HW.model_copy(update={"mistpipe_layer_overhead_s": 1e-4, "mistpipe_streamed_layer_overhead_s": 2e-3})
    model = MistpipeStageCostModel(get_preset("gpt-1.3b"), hw, seq_len=2048)
    parts = lambda args: model.micro_batch_parts(args)  # noqa: E731
    kept, streamed = parts(only_stage()), parts(only_stage(ow=0.5))
    per_mb = hw.mistpipe_microbatch_s
    assert float(kept["host_forward"]) == pytest.approx(12 * 1e-4 + per_mb)
    assert float(streamed["host_forward"]) == pytest.approx(12 * (1e-4 + 2e-3) + per_mb)
    assert float(streamed["host_backward"]) == pytest.approx(12 * (1e-4 + 2e-3))


def test_unset_mistpipe_host_terms_charge_the_stock_ones():
    assert HW.mistpipe_microbatch_overhead_s is None and HW.mistpipe_layer_overhead_s is None
    assert HW.mistpipe_microbatch_s == HW.host_microbatch_overhead_s
    assert HW.mistpipe_layer_s == HW.host_layer_overhead_s
    own = HW.model_copy(update={"mistpipe_microbatch_overhead_s": 0.0, "mistpipe_layer_overhead_s": 0.0})
    assert own.mistpipe_microbatch_s == 0.0 and own.mistpipe_layer_s == 0.0


def test_predict_costs_a_per_stage_mistpipe_plan():
    model = get_preset("llama-7b")
    stages = (StagePlan(layer_start=0, layer_end=16, num_recompute_layers=4, num_offloaded_layers=2,
                        memory=MemoryStrategy(zero_stage=0, offload_optimizer_ratio=0.75)),
              StagePlan(layer_start=16, layer_end=32, num_recompute_layers=0))
    plan = Plan(executor="mistpipe", model=model, cluster=ClusterSpec(num_nodes=1, gpus_per_node=2),
                global_batch_size=16, seq_len=4096, dp=1, tp=1, micro_batch_size=1, grad_accum_steps=16,
                memory=MemoryStrategy(zero_stage=0, offload_optimizer_ratio=0.25, offload_gradients_ratio=0.0),
                stages=stages)
    pred = predict_plan(plan, HW)
    first, second = pred.stages
    assert first.cpu_memory_bytes > second.cpu_memory_bytes > 0  # 0.75 vs 0.25 of the optimizer on the host
    assert first.memory_breakdown.optimizer_states_bytes < second.memory_breakdown.optimizer_states_bytes
    stock = plan.model_copy(update={"executor": "deepspeed", "memory": MemoryStrategy(zero_stage=1),
                                    "stages": tuple(s.model_copy(update={"memory": None}) for s in stages)})
    assert predict_plan(stock, HW).iteration_time_s != pred.iteration_time_s


def test_host_memory_follows_how_the_run_allocated_its_host_buffers():
    """'registered' (the engine since session 13): exact sizes, and the swap's host gradient only over
    host gradient sections; 'torch_pinned' (runs before): every buffer rounded up to a power of two,
    and a host gradient for every swapped element. Sizes per block of gpt-1.3b at one rank."""
    from mist_ds.cost.mistpipe_state import HOST_BUFFERS, EngineBuffers, host_allocated_bytes, stage_sizes
    from mist_ds.cost.shapes import pow2_bytes

    args = middle_stage(layers=4, oo=1.0).arrays()
    sizes = stage_sizes(GPT, args)
    block = float(sizes["block"])
    registered = host_allocated_bytes(args, sizes, swap=True, engine=EngineBuffers("registered"))
    before = host_allocated_bytes(args, sizes, swap=True, engine=EngineBuffers("torch_pinned"))
    assert float(registered) == pytest.approx(4 * 3 * 4 * block)  # master, m, v; no gradient sections
    assert float(before) == pytest.approx(4 * 4 * float(pow2_bytes(4 * block)))
    with_sections = middle_stage(layers=4, oo=1.0, og=0.5).arrays()
    lean = host_allocated_bytes(with_sections, sizes, swap=True)
    assert float(lean) == pytest.approx(4 * (3 * 4 * block + 4 * 0.5 * block + 2 * 0.5 * block))
    via_host = host_allocated_bytes(args, sizes, swap=True, engine=EngineBuffers("registered", "host"))
    assert float(via_host) == pytest.approx(4 * 4 * 4 * block)  # the swap's gradients all come through the host
    for recorded in HOST_BUFFERS:
        conditions = RunConditions(optimizer_path="gpu_swap", host_buffers=recorded)
        model = MistpipeStageCostModel(GPT, HW, seq_len=32, conditions=conditions)
        expected = HW.host_process_base_bytes + host_allocated_bytes(args, sizes, True, EngineBuffers(recorded))
        assert float(model.memory(middle_stage(layers=4, oo=1.0))[1]) == pytest.approx(float(expected))
    with pytest.raises(ValueError, match="host_buffers"):
        MistpipeStageCostModel(GPT, HW, seq_len=32, conditions=RunConditions(host_buffers="pinned"))


def test_the_stage_is_built_whole_before_anything_is_sharded_or_offloaded():
    """runtime/build.py builds MistPipelineModule on the device in 16 bits, and StageRuntime only then
    copies and shards it: however much a setting offloads, the peak is at least the stage's 16-bit
    weights (2 bytes x parameters, here 69e9 / 2 stages), at the build or while the optimizer is made."""
    spec = get_preset("llama-70b")
    model = MistpipeStageCostModel(spec, HW, seq_len=4096)
    args = stage_args(stage_index=0, num_stages=2, num_layers=spec.num_layers // 2, micro_batch=1, dp=1, tp=1,
                      grad_accum=8, zero_stage=0, offload_weights=1.0, offload_gradients=1.0,
                      offload_optimizer=1.0, num_recompute=spec.num_layers // 2, num_offloaded=0)
    cost = model.evaluate(args)
    stage_weights = 2 * float(cost.num_params)
    assert float(cost.peak_memory_bytes) >= stage_weights > 60 * 2**30
    assert float(model.state_floor(args)[0]) >= stage_weights
    # with one rank the peak is the optimizer's build: every unit still holds its 16-bit shard (all of
    # it, dp = 1: unit.py FlatUnit.initial_shard) when ShardedAdam makes the fp32 masters
    short = MistpipeStageCostModel(spec, HW, seq_len=256).evaluate(args)
    assert float(short.optimizer_states_bytes) >= stage_weights and float(short.activations_bytes) == 0


@pytest.mark.parametrize("profile", ["h200", "h100-sxm-80gb"])
def test_where_the_default_swap_path_is_priced_faster_than_cpu_adam(profile):
    """Where each path wins (cost/mistpipe_step.py optimizer_path picks per stage), on both shipped
    profiles with 2 ranks per node, from 3e8 offloaded elements per rank.
    The engine before 2026-12-01 (swap_gradients 'host': every tail's gradient d2h at the reduction
    and back in with the states, 16 B in and 12 out per element) beat the host's Adam + 16-bit copy
    by only 1-3% without host gradient sections (measured 3%: 0.617 vs 0.638 s/iter,
    bench/results/engine/s5_offload; on the H100 profile, whose h2d slows more beside d2h, the two tie
    within 1% since the swap's two-slot cycle is priced), and below ~1.7e8 CPU Adam was faster, by under
    10 ms a step.
    Reading device-section gradients in the accumulation buffer (12 B in) makes the swap 30-35%
    cheaper than CPU Adam there and never slower at small shares. With host sections both engines
    bring those gradients in, and CPU Adam pays their clip too (the swap by 15-30%)."""
    from mist_ds.cost.mistpipe_step import offload_step_s
    from mist_ds.cost.rates import Rates

    rates = Rates(load_hardware(profile), gpus_per_node=2)
    n = np.logspace(8.5, 10, 4)[:, None]
    share = np.array([0.0, 0.5, 1.0])[None, :]
    cpu = sum(offload_step_s(rates, n, share * n, 9, "cpu_adam"))
    before = sum(offload_step_s(rates, n, share * n, 9, "gpu_swap", "host")) / cpu
    now = sum(offload_step_s(rates, n, share * n, 9, "gpu_swap")) / cpu
    assert np.all((before[:, 0] > 0.96) & (before[:, 0] < (1.0 if profile == "h200" else 1.01)))
    assert np.all((before[:, 1:] > 0.7) & (before[:, 1:] < 0.87))
    assert np.all((now[:, 0] > 0.62) & (now[:, 0] < 0.72))
    assert np.all(now[:, :2] < before[:, :2] - 0.1) and np.allclose(now[:, 2], before[:, 2])
    small = np.logspace(6, 7.5, 4)
    gap = sum(offload_step_s(rates, small, 0 * small, 9, "gpu_swap", "host")) - sum(
        offload_step_s(rates, small, 0 * small, 9, "cpu_adam"))
    assert np.all((gap > 0) & (gap < 0.01))
    assert np.all(sum(offload_step_s(rates, small, 0 * small, 9, "gpu_swap")) < sum(
        offload_step_s(rates, small, 0 * small, 9, "cpu_adam")))


def test_the_swap_runs_its_two_directions_under_the_profiles_interference():
    """swapadam.py's chunk pipeline (mistpipe_step.swap_s): one chunk's load alone, then loads and
    stores at once under the profile's h2d/d2h slowdowns, then the last store: longer than the
    full-duplex max(16 B in, 12 B out) by the interference, and shorter than the two in series.
    gpt-1.3b PP2 stage at half offload (355.8M elements per rank, 13 units) on H200: 137 ms
    against 153 ms measured for the whole update (bench/engine/STEP_TIMELINE.md), by the engine of
    then, which brought every element's gradient in from the host (in_sections = n here)."""
    from mist_ds.cost.mistpipe_step import HOST_GRAD_BYTES, SWAP_IN_BYTES, SWAP_OUT_BYTES, swap_device_s, swap_s
    from mist_ds.cost.rates import Rates

    rates = Rates(HW, gpus_per_node=2)
    n = 355_758_080
    in_bytes = SWAP_IN_BYTES + HOST_GRAD_BYTES
    duplex = max(rates.h2d_s(in_bytes * n), rates.d2h_s(SWAP_OUT_BYTES * n))
    serial = rates.h2d_s(in_bytes * n) + rates.d2h_s(SWAP_OUT_BYTES * n)
    swap = float(swap_s(rates, n, 13, in_sections=n))
    assert 1.2 * duplex < swap < 0.8 * serial
    assert 0.125 < swap < 0.145
    # gradients read on the device (no host gradient section): 12 B in instead of 16
    assert 0.7 * swap < float(swap_s(rates, n, 13)) < 0.9 * swap
    # no interference (a profile whose h2d and d2h never slow each other): one chunk's load, device work
    # and store, and between them the two slots' cycle, (load + device work + store) / 2 a chunk, which
    # binds here since 12 B go each way (a full-duplex max(load, store) would leave the device work
    # out); a unit's 27.4M-element tail is cut into two chunks of 13.7M (swapadam.py even_chunk), not
    # 16.8M and 10.6M
    rates._interference[:] = 1.0
    chunk, rest = n / 13 / 2, n - n / 13 / 2
    load, store = rates.h2d_s(SWAP_IN_BYTES * rest), rates.d2h_s(SWAP_OUT_BYTES * rest)
    device = swap_device_s(rates, rest)
    assert (load + device + store) / 2 > max(load, store, device)
    edges = rates.h2d_s(SWAP_IN_BYTES * chunk) + rates.d2h_s(SWAP_OUT_BYTES * chunk) + swap_device_s(rates, chunk)
    assert float(swap_s(rates, n, 13)) == pytest.approx((load + device + store) / 2 + edges, rel=1e-9)


def test_cpu_adam_host_step_matches_host_step_json():
    """The cpu_adam path's host side on the H200 profile, 2 ranks: Adam + 16-bit copy of 355.8M
    elements = 0.122 + 0.038 s measured (bench/results/engine/s4_offload/host_step.json, 16 threads
    per rank), within 5%."""
    from mist_ds.cost.mistpipe_step import host_adam_rate
    from mist_ds.cost.rates import HOST_BF16_PER_ADAM
    from mist_ds.cost.rates import Rates

    n = 355_758_080
    host = n / host_adam_rate(Rates(HW, gpus_per_node=2)) * (1 + HOST_BF16_PER_ADAM)
    assert host == pytest.approx(0.122 + 0.038, rel=0.05)


def test_a_background_d2h_queue_slows_the_windows_h2d_copies():
    """mistpipe_windows.window_walls: without a d2h queue a window is Rates.overlapped_s of its compute and
    due copies; beside a queue that outlasts it, its h2d runs at the profile's h2d slowdown among
    h2d and d2h (compute done first; within 1%: _under_d2h keeps the d2h at its slowdown beside
    compute too) and the queue shrinks by what the window moved."""
    from mist_ds.config.hw_lookup import interference_slowdowns
    from mist_ds.cost.mistpipe_windows import window_walls
    from mist_ds.cost.rates import Rates

    rt = Rates(HW, 2)
    slow = interference_slowdowns(HW, ("compute", "h2d", "d2h"))["d2h"]
    alone, left = window_walls(rt, slow, [(1.0, 1e-3, 0.0, 10e-3)], 0.0)
    assert np.isclose(alone, 10e-3) and left == 0
    beside, left = window_walls(rt, slow, [(1.0, 1e-3, 0.0, 10e-3)], 1.0)
    pair = interference_slowdowns(HW, ("h2d", "d2h"))["h2d"]
    assert 10e-3 * pair * 0.99 < beside < 10e-3 * interference_slowdowns(HW, ("compute", "h2d", "d2h"))["h2d"]
    assert np.isclose(1.0 - left, beside / slow)
    two, _ = window_walls(rt, slow, [(2.0, 1e-3, 0.0, 10e-3)], beside / slow)  # the queue covers one of two
    assert np.isclose(two, beside + alone)


def test_load_queue_stall_only_delays_copies_queued_behind_the_activation_load():
    """mistpipe_windows.load_queue_stall: the top offloaded block's load (issued at the backward's
    first window) holds up the fills/sections issued after it on the shared h2d copy engine."""
    from mist_ds.cost.mistpipe_windows import load_queue_stall
    layers, top_lo, b, last_fill = np.array(12.0), np.array(1.0), 4.5, 12 - 3
    # 11 ms load, 1 ms of section per window: window L-2's section is ready at 11 + 2 x 1 = 13 ms,
    # needed at 2 x 4.5 = 9 ms -> 4 ms late (the later windows catch up: 1 ms copies, 4.5 ms windows)
    stall = load_queue_stall(layers, top_lo, b, 0.0, 1.0, 11.0, last_fill)
    assert float(stall) == pytest.approx(4.0)
    # nothing queued behind the load (activation offload alone): no stall from this term
    assert float(load_queue_stall(layers, top_lo, b, 0.0, 0.0, 11.0, last_fill)) == 0.0
    # no load: nothing to queue behind
    assert float(load_queue_stall(layers, top_lo, b, 0.5, 1.0, 0.0, last_fill)) == 0.0
    # a short load hides: 1 + 2 x 1 < 9
    assert float(load_queue_stall(layers, top_lo, b, 0.0, 1.0, 1.0, last_fill)) == 0.0


def test_the_bounded_d2h_queue_makes_the_forward_wait_and_holds_its_blocks():
    """mistpipe_windows.bounded_queue and the stage peak: the engine lets at most d2h_queue_blocks
    offloaded blocks' copies be in flight (actoffload.py CopyQueue), so a forward whose copies outrun
    it waits for the excess, and those blocks' sources are device memory at the peak."""
    from mist_ds.config.executors import MISTPIPE
    from mist_ds.cost.mistpipe_windows import bounded_queue

    k = MISTPIPE.constants.d2h_queue_blocks
    assert k == 4
    wall, left = bounded_queue(np.array([1.0, 1.0, 1.0]), np.array([6.0, 1.5, 0.0]), np.array([8.0, 2.0, 0.0]),
                               np.array([8, 2, 0]))
    assert wall.tolist() == [3.0, 1.0, 1.0] and left.tolist() == [4.0, 1.5, 0.0]
    # llama-7b, mb 1, seq 4096: a block's copy out (~0.59 GiB) takes several block forwards, so 11
    # offloaded blocks' forward takes at least the copies of the 7 beyond the bound
    model = MistpipeStageCostModel(get_preset("llama-7b"), HW, seq_len=4096)
    a = middle_stage(layers=16, micro=1, accum=8, r=1, na=np.array([0, 11])).arrays()
    s, t = model._sizes(a), model._shared_terms(a)
    mb = model._microbatch(s, t, a)
    copy = float(model.rates.d2h_s(t["layer_saved"][1]))
    assert mb["forward_wall"][1] >= (11 - k) * copy
    cost = model.evaluate(middle_stage(layers=16, micro=1, accum=8, r=1, na=np.array([2, 11])))
    held = (np.minimum([2, 11], 2) + np.minimum([2, 11], k)) * t["layer_saved"][1]  # reload slabs + queue
    assert np.allclose(cost.activations_bytes - held, model._shared_terms(
        middle_stage(layers=16, micro=1, accum=8, r=1, na=np.array([2, 11])).arrays())["activations"])


def test_distinct_rows_code_every_row_and_window_walls_share_them_exactly():
    """cost/distinct.py distinct_rows: every row is its distinct row (runs and repeats far apart alike, a
    scalar column too), and window_walls computed on the distinct rows equals it computed row by row."""
    from mist_ds.cost.distinct import distinct_rows
    from mist_ds.cost.mistpipe_windows import window_walls
    from mist_ds.cost.rates import Rates

    rng = np.random.default_rng(0)
    pool = rng.uniform(1e-4, 1e-2, size=(5, 2))
    picks = np.concatenate([np.repeat(rng.integers(0, 5, 40), 3), [0, 0, 4]])
    compute, h2d = pool[picks, 0], pool[picks, 1]
    keys, inverse = distinct_rows(compute.shape, compute, 0.0, h2d)
    assert len(keys[0]) == len(set(zip(compute, h2d))) == len(np.unique(picks))
    assert np.array_equal(keys[0][inverse], compute) and np.array_equal(keys[2][inverse], h2d)
    assert np.all(keys[1] == 0.0)
    rt = Rates(load_hardware("h200"), 2)
    queue = rng.uniform(0.0, 0.05, size=compute.shape) * (rng.random(compute.shape) > 0.3)
    groups = [(2.0, compute, 0.0, h2d), (np.arange(len(picks)) % 3, compute * 2, h2d / 2, h2d)]
    total, left = window_walls(rt, 1.08, groups, queue)
    for i in range(len(picks)):
        one = [tuple(v if np.ndim(v) == 0 else v[i] for v in group) for group in groups]
        assert window_walls(rt, 1.08, one, queue[i]) == (total[i], left[i])


def test_window_times_of_many_groups_at_once_equal_those_of_each_group_alone():
    """mistpipe_windows.window_times: the distinct rows of all groups share their Rates.overlapped_s calls
    (copy_window_walls passes every phase's groups at once); each group gets what it gets alone."""
    from mist_ds.cost.mistpipe_windows import window_times
    from mist_ds.cost.rates import Rates

    rng = np.random.default_rng(1)
    rows = rng.uniform(1e-4, 1e-2, size=(3, 6))
    groups = [(2.0, rows[0], 0.0, rows[1]), (0.0, rows[0], 0.0, 0.0), (np.arange(6) % 2, rows[2][:, None],
                                                                         rows[1][None, :], 0.0),
              (1.0, 5e-3, 1e-3, 2e-3)]
    rt = Rates(load_hardware("h200"), 2)
    together = window_times(rt, 1.08, groups)
    assert together[1] is None                      # no window on any row
    for group, walls in zip(groups, together):
        alone = window_times(rt, 1.08, [group])[0]
        assert (walls is None) == (alone is None)
        if walls is not None:
            assert all(np.array_equal(x, y) for x, y in zip(walls, alone))
    assert all(w is None or w[1] is None for w in window_times(rt, 1.08, groups, queue=False))


def test_the_pipeline_engine_holds_two_earlier_micro_batches_logits():
    """DeepSpeed's PipelineEngine keeps each micro-batch's logits in one of its two output buffers
    until a later forward overwrites it (cost/activations.py logits_bytes), and the buffers outlive the
    step: in the timed steps a one-stage mistpipe stage with the head meets min(grad_accum, 2) held sets
    at the end of a forward (the previous step's included). S26's 3B plan ran out of memory asking for
    one such set (4096 x 128256 bf16); S35-4's Qwen2-7B plan at ga 2 held three 4.64 GiB sets at its
    peak (bench/results/runtime/logits_held_S35/). Since session 57 the engine drops each micro-batch's
    logits after its backward (runtime/mistpipe/engine.py _exec_backward_pass): no held set at any
    accumulation, the head's backward (its logits and the fresh gradient) the peak."""
    spec = get_preset("llama3.2-3b")
    old, today = (MistpipeStageCostModel(spec, HW, seq_len=4096,  # the head's gradient fresh (before S58-2)
                                         conditions=RunConditions(releases_logits=r, fused_tied_head_wgrad=False))
                  for r in (False, True))
    one_set = 2 * 4096 * spec.vocab_size

    def buffers(model, accum: int) -> float:
        args = stage_args(stage_index=0, num_stages=1, num_layers=spec.num_layers, micro_batch=1, dp=1, tp=1,
                          grad_accum=accum, zero_stage=0, offload_weights=0.0, offload_gradients=0.0,
                          offload_optimizer=1.0, num_recompute=0, num_offloaded=0)
        return float(model.evaluate(args).buffers_bytes)

    one, two, three, eight = (buffers(old, g) for g in (1, 2, 3, 8))
    allowance = 1 + old.allocator_fraction  # the buffers carry the allocator allowance of the peak
    head_gradient = 2 * spec.vocab_size * spec.hidden_size  # fresh in the head's backward, tied
    # one micro-batch uses one buffer: one held set, the head's backward (its logits, the held set, the
    # fresh gradient) is the peak; two fill both buffers: the forward's end (three sets) is
    assert two - one == pytest.approx((one_set - head_gradient) * allowance)
    assert three == pytest.approx(two) and eight == pytest.approx(two)
    released = [buffers(today, g) for g in (1, 2, 8)]
    assert released == pytest.approx([released[0]] * 3)
    assert one - released[0] == pytest.approx(one_set * allowance)
    # the last of two stages runs each micro-batch's backward right after its forward too: nothing held there either
    last = [float(model.evaluate(stage_args(stage_index=1, num_stages=2, num_layers=14, micro_batch=1, dp=1, tp=1,
                                            grad_accum=g, zero_stage=0, offload_weights=0.0, offload_gradients=0.0,
                                            offload_optimizer=1.0, num_recompute=0, num_offloaded=0)).buffers_bytes)
            for model in (old, today) for g in (2, 8)]
    assert last[2] == pytest.approx(last[3]) and last[2] < last[0] - one_set
    from mist_ds.cost.conditions import releases_logits_of

    assert releases_logits_of(None) is False and releases_logits_of(True) is True


def test_a_head_that_adds_its_gradient_in_its_gemm_makes_none_fresh():
    """runtime/mistpipe/stage.py _fuse_head (RunConditions.fused_head_wgrad for an untied head, session 58;
    fused_tied_head_wgrad for a tied one, S58-2): the head's backward writes dW into the resident unit's buffer,
    so its stage's train peak loses the fresh vocabulary x hidden gradient (cost/mistpipe.py _passing); a stage
    without the head keeps its peak, and each flag moves only its own kind of head."""
    def buffers(spec, untied: bool, tied: bool, stage_index: int = 0, num_stages: int = 1) -> float:
        conditions = RunConditions(fused_head_wgrad=untied, fused_tied_head_wgrad=tied)
        model = MistpipeStageCostModel(spec, HW, seq_len=4096, conditions=conditions)
        args = stage_args(stage_index=stage_index, num_stages=num_stages, num_layers=4, micro_batch=1, dp=1, tp=1,
                          grad_accum=4, zero_stage=0, offload_weights=0.0, offload_gradients=0.0,
                          offload_optimizer=1.0, num_recompute=0, num_offloaded=0)
        return float(model.evaluate(args).buffers_bytes)

    untied, tied = get_preset("llama3-8b"), get_preset("llama3.2-3b")
    assert not untied.tie_embeddings and tied.tie_embeddings
    allowance = 1 + MistpipeStageCostModel(untied, HW, seq_len=4096).allocator_fraction
    for spec, flags in ((untied, (True, False)), (tied, (False, True))):
        head_gradient = 2 * spec.vocab_size * spec.hidden_size
        assert buffers(spec, False, False) - buffers(spec, *flags) == pytest.approx(head_gradient * allowance,
                                                                                 rel=1e-3), spec.name
        assert buffers(spec, *flags[::-1]) == pytest.approx(buffers(spec, False, False)), spec.name
        assert buffers(spec, False, False, 0, 2) == pytest.approx(buffers(spec, True, True, 0, 2))  # no head
    from mist_ds.cost.conditions import fused_head_wgrad_of

    assert fused_head_wgrad_of(None) is False and fused_head_wgrad_of(True) is True


def test_the_heads_logits_and_a_recomputed_blocks_activations_count_once():
    """The head's backward consumes this micro-batch's logits before any block is recomputed, so the
    stage with the head pays the larger of the two, not both (the held sets stay): S33-4's Llama 3.2 3B
    plan at seq 8192, 25 of 28 recomputed, allocated 1.02 GiB under the sum
    (bench/results/runtime/retries_S33/README.md). Every block recomputed here: with a block kept, its saved
    set is freed before any recompute (cost/memory.py activation_exprs) and no regenerated set counts."""
    spec = get_preset("llama3.2-3b")
    model = MistpipeStageCostModel(spec, HW, seq_len=8192)

    def args(index: int, stages: int, recompute: int):
        return stage_args(stage_index=index, num_stages=stages, num_layers=8, micro_batch=1, dp=1, tp=1,
                          grad_accum=8, zero_stage=0, offload_weights=0.0, offload_gradients=1.0,
                          offload_optimizer=1.0, num_recompute=recompute, num_offloaded=0)

    def buffer_change(index: int, stages: int) -> tuple[float, float]:
        """(buffers, peak) with all 8 blocks recomputed less without any: the buffers hold the logits
        and the peak's allocator allowance (allocator_fraction x the raw peak)."""
        with_r, without = model.evaluate(args(index, stages, 8)), model.evaluate(args(index, stages, 0))
        return (float(with_r.buffers_bytes - without.buffers_bytes),
                float(with_r.peak_memory_bytes - without.peak_memory_bytes))

    recomputed = float(model._shared_terms(args(0, 1, 8).arrays())["recomputed"])
    assert 0 < recomputed < 2 * 8192 * spec.vocab_size   # less than one micro-batch's logits
    fraction = model.allocator_fraction / (1 + model.allocator_fraction)  # allowance per byte of peak
    # without the head (the middle of three) recompute leaves the buffers but for the allowance; with
    # it (one stage) they give back the regenerated activations, which the logits' room now holds
    buffers, peak = buffer_change(1, 3)
    assert buffers == pytest.approx(fraction * peak, abs=1e3)
    buffers, peak = buffer_change(0, 1)
    assert buffers == pytest.approx(-recomputed + fraction * peak, abs=1e3)


def _with_host_step(per_adam, slowdown):
    return HW.model_copy(update={"cpu_step_per_adam": per_adam, "cpu_step_d2h_slowdown": slowdown})


def test_cpu_adam_path_takes_the_measured_host_step_and_its_slowdown_beside_the_d2h():
    """Without the profile's fields the host step is Adam x (1 + HOST_BF16_PER_ADAM); with cpu_step_per_adam it
    is Adam x that; beside d2h seconds at slowdown s it ends min(d2h, s x host) x (1 - 1/s) later, so a d2h that
    outlasts the slowed host makes the host s times slower, and a short one costs d2h x (1 - 1/s)."""
    from mist_ds.cost.mistpipe_step import beside_d2h_extra_s, host_step_per_adam, offload_step_s
    from mist_ds.cost.rates import HOST_BF16_PER_ADAM, Rates

    plain, measured = Rates(HW, 1), Rates(_with_host_step(1.4, 1.5), 1)
    assert host_step_per_adam(plain) == pytest.approx(1 + HOST_BF16_PER_ADAM)
    assert host_step_per_adam(measured) == 1.4
    assert float(beside_d2h_extra_s(plain, 1.0, 0.5)) == 0.0
    assert float(beside_d2h_extra_s(measured, 1.0, 0.6)) == pytest.approx(0.6 * (1 - 1 / 1.5))
    assert 1.0 + float(beside_d2h_extra_s(measured, 1.0, 9.0)) == pytest.approx(1.5)
    n = 2.65e9
    slower = float(offload_step_s(Rates(_with_host_step(1.4, 1.5), 1), n, 0.0, 33, "cpu_adam")[0])
    unslowed = float(offload_step_s(Rates(_with_host_step(1.4, 1.0), 1), n, 0.0, 33, "cpu_adam")[0])
    assert slower - unslowed == pytest.approx(measured.d2h_s(4 * n) * (1 - 1 / 1.5), rel=1e-6)


def test_a_fused_head_loss_holds_its_working_set_instead_of_the_logits():
    """RunConditions.fused_head_loss (runtime/fused_head_loss.py): the stage with the head holds one chunk's
    working set, dx and the per-token vectors (activations.fused_head_loss_bytes) where it held one micro-batch's
    logits, so where the head's backward was the peak (no recompute, a head-sized gradient sunk) the peak drops by
    exactly the difference; the Liger path (a 'liger' loss) holds one 16-bit chunk, the eager path an fp32 copy
    beside two 16-bit ones; a stage without the head does not move."""
    from mist_ds.cost.activations import fused_head_loss_bytes, fused_liger_rows
    from mist_ds.cost.kernel_set import KernelSet

    spec, seq = get_preset("llama3.2-3b"), 4096

    def buffers(fused: bool, loss: str, stage_index: int = 0, num_stages: int = 1) -> float:
        conditions = RunConditions(kernels=KernelSet(loss=loss), fused_head_loss=fused)
        model = MistpipeStageCostModel(spec, HW, seq_len=seq, conditions=conditions)
        args = stage_args(stage_index=stage_index, num_stages=num_stages, num_layers=4, micro_batch=2, dp=1, tp=1,
                          grad_accum=4, zero_stage=0, offload_weights=0.0, offload_gradients=0.0,
                          offload_optimizer=1.0, num_recompute=0, num_offloaded=0)
        return float(model.evaluate(args).buffers_bytes)

    allowance = 1 + MistpipeStageCostModel(spec, HW, seq_len=seq).allocator_fraction
    tokens = 2 * seq
    # activations.logits_bytes: the 16-bit logits, per token 13 (liger) or 18 bytes, the eager chunk's fp32 copy
    unfused = {"liger": tokens * (2 * spec.vocab_size + 13), "chunked": tokens * (2 * spec.vocab_size + 18) + (4 << 24)}
    for loss, logits in unfused.items():
        working = fused_head_loss_bytes(tokens, spec.vocab_size, spec.hidden_size, loss)
        assert buffers(False, loss) - buffers(True, loss) == pytest.approx((logits - working) * allowance, rel=1e-3)
        assert buffers(False, loss, 0, 2) == pytest.approx(buffers(True, loss, 0, 2))   # no head
    chunk = fused_liger_rows(tokens, spec.vocab_size) * spec.vocab_size
    assert fused_head_loss_bytes(tokens, spec.vocab_size, spec.hidden_size, "liger") == (
        chunk * 2 + tokens * (2 * spec.hidden_size + 22))
    from mist_ds.cost.conditions import fused_head_loss_of

    assert fused_head_loss_of(None) is False and fused_head_loss_of(True) is True


def test_a_fused_head_runs_its_three_gemms_chunk_by_chunk():
    """cost/layer_time.py fused_head_s: one chunk covering every token prices head_parts' GEMMs, loss and final
    norm plus one read and write of dx; many chunks price each chunk's three GEMMs (the last one the rest) and, for
    every chunk after the first, one more read and write of the whole weight gradient its dW GEMM accumulates into."""
    from mist_ds.config.hw_lookup import matmul_time_s
    from mist_ds.cost.activations import fused_liger_rows
    from mist_ds.cost.kernel_set import KernelSet
    from mist_ds.cost.layer_time import _memory_s, fused_head_s, head_parts

    liger = KernelSet(loss="liger")
    small = get_preset("llama-1.3b")        # a 32000-token vocabulary: 4096 rows a chunk
    parts = head_parts(HW, small, 2048, 1, liger)
    dx = _memory_s(HW, [("copy", 2 * 2048 * small.hidden_size * 2)])
    assert fused_head_s(HW, small, 2048, 1, liger) == pytest.approx(
        parts["head_gemm"] + parts["loss"] + parts["final_norm"] + dx)
    big, m = get_preset("llama3.2-3b"), 3000
    rows, h, v = int(fused_liger_rows(m, big.vocab_size)), big.hidden_size, big.vocab_size
    gemms = lambda c: matmul_time_s(HW, c, v, h) + matmul_time_s(HW, c, h, v) + matmul_time_s(HW, v, h, c)  # noqa: E731
    parts = head_parts(HW, big, m, 1, liger)
    dx = _memory_s(HW, [("copy", 2 * m * h * 2)])
    accumulate = _memory_s(HW, [("copy", 2 * 2 * v * h * 2)])   # chunks 2 and 3 read and write dW
    assert rows == 1024 and fused_head_s(HW, big, m, 1, liger) == pytest.approx(
        2 * gemms(1024) + gemms(m - 2048) + parts["loss"] + parts["final_norm"] + dx + accumulate)
