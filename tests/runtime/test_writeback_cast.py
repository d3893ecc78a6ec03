"""runtime/writeback_cast.py: the 'device' write-back of ZeRO-3 under offload_param (config/writeback.py). Its
conversion must equal DeepSpeed's copy_ bit for bit (both round to nearest even), chunk boundaries included,
and the wrapper must touch only sub-groups that write back across devices. The real DeepSpeed optimizer it
reads: tests/runtime/test_zero_init.py (CPU ranks) and the gpu tests below."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from mist_ds.runtime import writeback_cast as wb


def fp32_master(numel: int, seed: int = 0) -> torch.Tensor:
    """Values whose bf16 rounding differs across ties and magnitudes (normal draws at several scales)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(numel, generator=gen) * torch.logspace(-6, 6, numel)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_the_chunked_cast_equals_one_copy_bit_for_bit(chunk):
    master = fp32_master(1000)
    reference = torch.empty(1000, dtype=torch.bfloat16).copy_(master)
    low = torch.zeros(1000, dtype=torch.bfloat16)
    wb.cast_into(low, master, chunk)
    assert torch.equal(low.view(torch.int16), reference.view(torch.int16))


def test_a_write_back_of_another_size_is_refused():
    with pytest.raises(ValueError, match="write-back of"):
        wb.cast_into(torch.zeros(9, dtype=torch.bfloat16), torch.zeros(10))


def test_only_a_host_partition_of_another_dtype_under_a_device_master_crosses():
    bf16_cpu, fp32_cpu = torch.zeros(2, dtype=torch.bfloat16), torch.zeros(2)
    fp32_meta = torch.zeros(2, device="meta")
    assert wb.crosses_to_host(bf16_cpu, fp32_meta)
    assert not wb.crosses_to_host(bf16_cpu, fp32_cpu)            # master on the CPU (optimizer offloaded)
    assert not wb.crosses_to_host(fp32_cpu, fp32_meta)           # autocast: one fp32 tensor
    assert not wb.crosses_to_host(None, fp32_meta)               # swapped-out group
    assert not wb.crosses_to_host(torch.zeros(2, dtype=torch.bfloat16, device="meta"), fp32_meta)


class FakeStage3:
    """The attributes of DeepSpeed's ZeRO-3 optimizer the wrapper reads, recording the calls it makes."""

    def __init__(self, lows, masters):
        self.fp16_partitioned_groups_flat, self.fp32_partitioned_groups_flat = lows, masters
        self.calls: list[tuple[str, int]] = []

    def _reassign_or_swap_out_partitioned_parameters(self, sub_group_id):
        self.calls.append(("original", sub_group_id))

    def _unflatten_partitioned_parameters(self, sub_group_id):
        self.calls.append(("unflatten", sub_group_id))


def test_something_that_is_not_deepspeeds_zero3_optimizer_is_refused():
    with pytest.raises(TypeError, match="not DeepSpeed's ZeRO-3 optimizer"):
        wb.install_device_writeback(SimpleNamespace(fp32_partitioned_groups_flat=[]))


def test_without_a_cross_device_sub_group_nothing_is_installed():
    optimizer = FakeStage3([torch.zeros(4, dtype=torch.bfloat16)], [torch.zeros(4)])
    assert wb.install_device_writeback(optimizer) == 0
    assert "_reassign_or_swap_out_partitioned_parameters" not in vars(optimizer)
    assert wb.apply_writeback_cast(optimizer, "device") is None
    assert wb.apply_writeback_cast(optimizer, "host") is None


def test_the_wrapper_casts_crossing_groups_and_hands_the_others_to_deepspeed(monkeypatch):
    """Group 0 crosses (as a GPU master over a pinned bf16 partition would: crosses_to_host is made to say so
    for it on this CPU-only machine), group 1 does not: 0 is cast and unflattened, 1 goes to the original."""
    masters = [fp32_master(300, seed=1), fp32_master(5, seed=2)]
    lows = [torch.zeros(300, dtype=torch.bfloat16), torch.zeros(5, dtype=torch.bfloat16)]
    optimizer = FakeStage3(lows, masters)
    monkeypatch.setattr(wb, "crosses_to_host", lambda low, master: master is masters[0])
    assert wb.apply_writeback_cast(optimizer, "device") == "device"
    optimizer._reassign_or_swap_out_partitioned_parameters(0)
    optimizer._reassign_or_swap_out_partitioned_parameters(1)
    assert optimizer.calls == [("unflatten", 0), ("original", 1)]
    assert torch.equal(lows[0], masters[0].to(torch.bfloat16))
    assert not lows[1].any()


def test_the_host_way_records_host_where_a_group_crosses(monkeypatch):
    optimizer = FakeStage3([torch.zeros(3, dtype=torch.bfloat16)], [torch.zeros(3)])
    monkeypatch.setattr(wb, "crosses_to_host", lambda low, master: True)
    assert wb.apply_writeback_cast(optimizer, "host") == "host"
    assert "_reassign_or_swap_out_partitioned_parameters" not in vars(optimizer)


@pytest.mark.gpu
@pytest.mark.parametrize("pinned", [True, False])
def test_on_a_gpu_the_cast_equals_deepspeeds_copy(pinned):
    """The real crossing: an fp32 CUDA master into a (pinned) bf16 CPU partition, chunks not dividing it."""
    master = fp32_master(5_000_001).cuda()
    stock = torch.empty(master.numel(), dtype=torch.bfloat16, pin_memory=pinned)
    stock.copy_(master)  # DeepSpeed's line: blocking, converted on the CPU
    low = torch.zeros(master.numel(), dtype=torch.bfloat16, pin_memory=pinned)
    assert wb.crosses_to_host(low, master)
    wb.cast_into(low, master, chunk_elements=1 << 20)
    assert torch.equal(low.view(torch.int16), stock.view(torch.int16))


@pytest.mark.gpu
def test_on_a_gpu_the_wrapper_writes_what_the_original_would():
    masters = [fp32_master(4_000_000, seed=3).cuda(), fp32_master(1000, seed=4)]
    lows = [torch.zeros(4_000_000, dtype=torch.bfloat16, pin_memory=True), torch.zeros(1000, dtype=torch.bfloat16)]
    optimizer = FakeStage3(lows, masters)
    assert wb.apply_writeback_cast(optimizer, "device") == "device"
    optimizer._reassign_or_swap_out_partitioned_parameters(0)
    optimizer._reassign_or_swap_out_partitioned_parameters(1)
    assert optimizer.calls == [("unflatten", 0), ("original", 1)]
    assert torch.equal(lows[0], masters[0].cpu().to(torch.bfloat16))


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_the_staged_upload_equals_one_copy_bit_for_bit(chunk):
    """upload_into through two (here unpinned, CPU) stages: every chunk lands once, rounded as copy_ rounds."""
    master = fp32_master(1000, seed=5)
    reference = torch.empty(1000, dtype=torch.bfloat16).copy_(master)
    low = torch.zeros(1000, dtype=torch.bfloat16)
    wb.upload_into(low, master, [torch.empty(chunk, dtype=torch.bfloat16) for _ in range(wb.STAGING_BUFFERS)])
    assert torch.equal(low.view(torch.int16), reference.view(torch.int16))


def test_only_a_device_partition_of_another_dtype_under_a_host_master_crosses_up():
    bf16_meta, fp32_cpu = torch.zeros(2, dtype=torch.bfloat16, device="meta"), torch.zeros(2)
    assert wb.crosses_to_device(bf16_meta, fp32_cpu)
    assert not wb.crosses_to_device(torch.zeros(2, dtype=torch.bfloat16), fp32_cpu)   # offload_param: both on the CPU
    assert not wb.crosses_to_device(torch.zeros(2, device="meta"), fp32_cpu)
    assert not wb.crosses_to_device(None, fp32_cpu)
    assert not wb.crosses_to_host(bf16_meta, fp32_cpu)


def test_the_wrapper_stages_host_masters_and_pins_its_staging_once(monkeypatch):
    masters = [fp32_master(70, seed=6), fp32_master(9, seed=7)]
    lows = [torch.zeros(70, dtype=torch.bfloat16), torch.zeros(9, dtype=torch.bfloat16)]
    optimizer = FakeStage3(lows, masters)
    monkeypatch.setattr(wb, "crosses_to_host", lambda low, master: False)
    monkeypatch.setattr(wb, "crosses_to_device", lambda low, master: True)
    pinned: list[torch.Tensor] = []
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self: pinned.append(self) or self)
    monkeypatch.setattr(wb, "WRITEBACK_CHUNK_ELEMENTS", 16)
    assert wb.apply_writeback_cast(optimizer, "device") == "device"
    optimizer._reassign_or_swap_out_partitioned_parameters(0)
    optimizer._reassign_or_swap_out_partitioned_parameters(1)
    assert optimizer.calls == [("unflatten", 0), ("unflatten", 1)]
    assert len(pinned) == wb.STAGING_BUFFERS and all(stage.numel() == 16 for stage in pinned)
    for low, master in zip(lows, masters):
        assert torch.equal(low, master.to(torch.bfloat16))


@pytest.mark.gpu
def test_on_a_gpu_the_staged_upload_equals_deepspeeds_copy():
    """The real crossing up: a pageable fp32 CPU master into a bf16 CUDA partition through pinned stages."""
    master = fp32_master(5_000_001, seed=8)
    stock = torch.empty(master.numel(), dtype=torch.bfloat16, device="cuda").copy_(master)
    low = torch.zeros(master.numel(), dtype=torch.bfloat16, device="cuda")
    assert wb.crosses_to_device(low, master)
    stages = [torch.empty(1 << 20, dtype=torch.bfloat16).pin_memory() for _ in range(wb.STAGING_BUFFERS)]
    wb.upload_into(low, master, stages)
    assert torch.equal(low.view(torch.int16), stock.view(torch.int16))
