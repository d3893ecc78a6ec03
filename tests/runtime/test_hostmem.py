"""runtime/mistpipe/hostmem.py: exact-size page-locked buffers, registered and unregistered in step
with the memory's life (a fake accelerator records the calls on CPU; the gpu test pins for real)."""

from __future__ import annotations

import gc

import pytest
import torch

from mist_ds.runtime.mistpipe import hostmem


class FakeAccelerator:
    """Records register_host_memory / unregister_host_memory as DeepSpeed's CUDA accelerator takes them."""

    def __init__(self):
        self.live: dict[int, int] = {}
        self.calls: list[tuple] = []

    def register_host_memory(self, address, num_bytes):
        assert address not in self.live, "a page registered twice"
        self.live[address] = num_bytes
        self.calls.append(("register", address, num_bytes))
        return True

    def unregister_host_memory(self, address):
        self.calls.append(("unregister", address, self.live.pop(address)))


@pytest.fixture
def fake(monkeypatch):
    accelerator = FakeAccelerator()
    monkeypatch.setattr(hostmem, "_accelerator", lambda: accelerator)
    monkeypatch.setattr(hostmem, "REGISTERED", hostmem.RegisteredBytes())
    return accelerator


@pytest.mark.parametrize("numel, dtype", [(1, torch.bfloat16), (1000, torch.float32), (3 * 4096 + 5, torch.bfloat16)])
def test_a_buffer_is_exact_and_registers_whole_pages_of_its_own(fake, numel, dtype):
    buffer = hostmem.registered_buffer(numel, dtype)
    assert buffer.numel() == numel and buffer.dtype == dtype and buffer.is_contiguous()
    (_, address, span), = fake.calls
    assert address % hostmem.PAGE == 0 and span % hostmem.PAGE == 0
    assert address == buffer.data_ptr() and span >= numel * dtype.itemsize > span - hostmem.PAGE
    assert hostmem.REGISTERED.now == hostmem.REGISTERED.peak == span
    buffer.fill_(3)  # writable, and the whole range is its own
    assert float(buffer.float().sum()) == 3 * numel


def test_pages_are_unregistered_only_when_the_last_view_dies(fake):
    buffer = hostmem.registered_buffer(5000, torch.float32)
    view = buffer[10:20]
    address = buffer.data_ptr()
    del buffer
    gc.collect()
    assert address in fake.live  # the view still reads the memory: still registered
    view.zero_()
    del view
    gc.collect()
    assert fake.live == {} and fake.calls[-1][:2] == ("unregister", address)
    assert hostmem.REGISTERED.now == 0 and hostmem.REGISTERED.peak > 0


def test_buffers_never_share_a_page(fake):
    buffers = [hostmem.registered_buffer(n, torch.bfloat16) for n in (3, 700, 2049, 1, 40000)]
    ranges = sorted((address, address + span) for _, address, span in fake.calls)
    assert all(end <= start for (_, end), (start, _) in zip(ranges, ranges[1:]))
    assert len(buffers) == len(fake.live) == 5


def test_a_refused_registration_names_host_memory_and_leaves_nothing_registered(fake, monkeypatch):
    kept = hostmem.registered_buffer(4096, torch.float32)

    def refuse(address, num_bytes):
        raise RuntimeError("CUDA error: out of memory")

    monkeypatch.setattr(fake, "register_host_memory", refuse)
    with pytest.raises(hostmem.HostRegisterError, match=r"could not page-lock 8192 bytes of host memory .*"
                                                        r"\(16384 bytes already page-locked by the engine\): "
                                                        r"CUDA error: out of memory"):
        hostmem.registered_buffer(2048, torch.float32)
    assert hostmem.REGISTERED.now == 16384 and len(fake.live) == 1
    del kept


def test_empty_buffers_register_nothing(fake):
    assert hostmem.registered_buffer(0, torch.float32).numel() == 0
    assert fake.calls == []


@pytest.mark.gpu
def test_registered_buffers_are_pinned_and_copy_asynchronously():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    host = hostmem.registered_buffer(1 << 20, torch.float32)
    assert host.is_pinned()
    device = torch.arange(1 << 20, device="cuda", dtype=torch.float32)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        host.copy_(device, non_blocking=True)
    stream.synchronize()
    assert torch.equal(host, device.cpu())
