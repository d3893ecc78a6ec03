"""The offloaded block's saved-tensor hooks (runtime/host_saves.py): the same losses and gradients
as torch's save_on_cpu and as a plain block, every saved tensor really packed into a host copy,
and the copy mode recorded in the RunReport."""

from __future__ import annotations

import pytest
import torch
from torch.autograd.graph import save_on_cpu

from mist_ds.cost.act_offload import COPY_DEFAULT
from mist_ds.runtime import host_saves
from mist_ds.runtime.blocks import TransformerBlock
from mist_ds.runtime.host_saves import activation_offload_copy, pack_to_host, save_on_host, unpack_from_host
from mist_ds.runtime.model import OffloadedBlock
from tests.helpers import ARCHITECTURE_VARIANTS, tiny_model

from .plans import GPT, make_plan, one_stage


def _run(block, x, context=None):
    xi = x.clone().requires_grad_(True)
    if context is None:
        out = block(xi)
    else:
        with context:
            out = block(xi)
    loss = out.square().mean()
    loss.backward()
    return loss.detach(), xi.grad, [p.grad.clone() for p in block.parameters()]


def _same(a, b):
    (la, xa, pa), (lb, xb, pb) = a, b
    assert torch.equal(la, lb) and torch.equal(xa, xb)
    assert len(pa) == len(pb) and all(torch.equal(u, v) for u, v in zip(pa, pb))


@pytest.mark.parametrize("name", sorted(ARCHITECTURE_VARIANTS))
def test_offloaded_block_matches_save_on_cpu_and_a_plain_block(name, monkeypatch):
    spec = tiny_model(**ARCHITECTURE_VARIANTS[name])
    x = torch.randn(2, 16, spec.hidden_size)
    plain = _run(TransformerBlock(spec, layer_index=2), x)
    torch_hooks = _run(TransformerBlock(spec, layer_index=2), x, save_on_cpu(pin_memory=True))
    packed = []

    def counting_pack(tensor):
        device, copy = pack_to_host(tensor)
        assert copy.data_ptr() != tensor.data_ptr() and torch.equal(copy, tensor)
        packed.append(copy)
        return device, copy

    monkeypatch.setattr(host_saves, "pack_to_host", counting_pack)
    ours = _run(OffloadedBlock(spec, layer_index=2), x)
    assert len(packed) > 10          # every save of the block went through our pack
    _same(ours, plain)
    _same(ours, torch_hooks)


def test_cpu_pack_is_a_plain_copy_and_unpack_returns_it():
    t = torch.randn(3, 5)[:, 1:4]    # a non-contiguous view
    device, packed = pack_to_host(t)
    assert device == t.device and not packed.is_pinned() and packed.is_contiguous()
    assert packed.data_ptr() != t.data_ptr() and torch.equal(packed, t)
    assert torch.equal(unpack_from_host((device, packed)), t)


def test_a_change_after_the_pack_does_not_reach_backward():
    # autograd does not check the version of a tensor saved through hooks: the copy taken at pack
    # time (queued before any later kernel, on a GPU) is what keeps the gradient right
    a = torch.randn(6, requires_grad=True)
    with save_on_host():
        x = a * 2
        y = x.sin()
    x.add_(1.0)
    y.sum().backward()
    assert torch.allclose(a.grad, 2 * torch.cos(2 * a.detach()))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_pack_is_pinned_and_matches_save_on_cpu():
    spec = tiny_model(**ARCHITECTURE_VARIANTS["llama"])
    x = torch.randn(2, 16, spec.hidden_size, device="cuda")
    _, packed = pack_to_host(x)
    torch.cuda.synchronize()
    assert packed.is_pinned() and packed.device.type == "cpu" and torch.equal(packed.cuda(), x)
    ours = _run(OffloadedBlock(spec, layer_index=2, device="cuda"), x)
    theirs = _run(TransformerBlock(spec, layer_index=2, device="cuda"), x, save_on_cpu(pin_memory=True))
    _same(ours, theirs)


def test_the_run_report_records_the_copy_mode_where_stock_deepspeed_offloads():
    assert activation_offload_copy(one_stage(zero_stage=1, num_offloaded_layers=4)) == "non_blocking"
    piped = make_plan(GPT, [{"end": 2}, {"end": 4, "num_offloaded_layers": 1}])
    assert activation_offload_copy(piped) == host_saves.COPY_MODE == COPY_DEFAULT == "non_blocking"
    assert activation_offload_copy(one_stage(zero_stage=1, num_recompute_layers=4)) is None
    mistpipe = make_plan(GPT, [{"end": 2, "num_offloaded_layers": 1}, {"end": 4}], executor="mistpipe",
                         zero_stage=1)
    assert activation_offload_copy(mistpipe) is None


def test_failure_reports_carry_the_mode_too():
    from mist_ds.runtime.reporting import failure_report
    plan = one_stage(zero_stage=1, num_offloaded_layers=4)
    report = failure_report(plan, "error", "boom", steps_done=0, warmup=0, precision="fp32", losses=[])
    assert report.activation_offload_copy == "non_blocking"
    plain = failure_report(one_stage(zero_stage=1), "error", "boom", steps_done=0, warmup=0,
                           precision="fp32", losses=[])
    assert plain.activation_offload_copy is None
