"""runtime/liger_loss.py: Liger's cross-entropy kernels without host synchronisations.

Where liger-kernel and Triton are installed, the kernels run on the CPU through Triton's interpreter
(TRITON_INTERPRET=1, in a subprocess: the switch must be set before Triton decorates the kernels);
on a GPU they run compiled, with torch's sync debug mode turned to errors. CPU-only machines without
Triton (CI) skip both."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]

INTERPRETED = r"""
import torch
import torch.nn.functional as F
from mist_ds.runtime.liger_loss import liger_cross_entropy, walked_columns
from mist_ds.runtime.loss import IGNORE_INDEX

gen = torch.Generator().manual_seed(0)
# the last vocabulary is wider than Liger's MAX_FUSED_SIZE (32768): the kernel walks a row in two blocks
for dtype, vocab, loss_tol, grad_tol in ((torch.float32, 1000, 1e-5, 1e-5), (torch.bfloat16, 1000, 1e-5, 1e-2),
                                         (torch.bfloat16, 40000, 1e-5, 1e-2)):
    logits = (torch.randn(6, 7, vocab, generator=gen) * 3).to(dtype)
    labels = torch.randint(0, vocab, (6, 7), generator=gen)
    labels[0, :3] = IGNORE_INDEX
    ref_in = logits.float().clone().requires_grad_(True)  # a copy also for fp32 logits
    ref = F.cross_entropy(ref_in.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)
    (0.25 * ref).backward()                 # a scaled loss, as DeepSpeed's 1 / grad-accum
    x = logits.clone().requires_grad_(True)
    loss = liger_cross_entropy(x, labels, IGNORE_INDEX)
    (0.25 * loss).backward()
    assert loss.dtype == torch.float32, loss.dtype
    assert abs(loss.item() - ref.item()) <= loss_tol * ref.item(), (dtype, loss.item(), ref.item())
    err = ((x.grad.float() - ref_in.grad).norm() / ref_in.grad.norm()).item()
    assert err <= grad_tol, (dtype, err)
    assert x.grad[0, :3].abs().max().item() == 0.0  # ignored tokens: no gradient

# a padded vocabulary (runtime/loss.py): a row's first `columns` logits count. A width Triton vectorizes over (48)
# is walked whole behind a -inf fill, another (50) to `columns`; both give torch's loss and a zero padding gradient
for width, columns, walked in ((48, 45, 48), (50, 45, 45)):
    logits = (torch.randn(5, width, generator=gen) * 3).to(torch.bfloat16)
    labels = torch.randint(0, columns, (5,), generator=gen)
    labels[1] = IGNORE_INDEX
    assert walked_columns(logits.clone(), columns) == walked, (width, columns)
    ref_in = logits[:, :columns].float().clone().requires_grad_(True)
    ref = F.cross_entropy(ref_in, labels, ignore_index=IGNORE_INDEX)
    ref.backward()
    x = logits.clone().requires_grad_(True)
    loss = liger_cross_entropy(x, labels, IGNORE_INDEX, columns=columns)
    loss.backward()
    assert abs(loss.item() - ref.item()) <= 1e-5 * ref.item(), (width, loss.item(), ref.item())
    err = ((x.grad[:, :columns].float() - ref_in.grad).norm() / ref_in.grad.norm()).item()
    assert err <= 1e-2, (width, err)
    assert x.grad[:, columns:].abs().max().item() == 0.0, width
assert walked_columns(torch.zeros(2, 48), 32) == 32 and walked_columns(torch.zeros(2, 48), 48) == 48

# every label ignored: loss 0 and zero gradient, not 0 / 0
x = torch.randn(4, 50).requires_grad_(True)
loss = liger_cross_entropy(x, torch.full((4,), IGNORE_INDEX), IGNORE_INDEX)
loss.backward()
assert loss.item() == 0.0 and x.grad.abs().max().item() == 0.0
print("ok")
"""


def _liger_and_triton():
    if importlib.util.find_spec("liger_kernel") is None or importlib.util.find_spec("triton") is None:
        pytest.skip("liger-kernel / triton not installed")


def test_matches_torch_cross_entropy_under_the_triton_interpreter():
    """Loss (fp32) and gradient of fp32 and bf16 logits equal torch's fp32 cross-entropy, with ignored
    labels, a scaled upstream gradient, a row wider than one kernel block, a padded vocabulary walked to its real
    columns or whole (liger_loss.walked_columns) and an all-ignored batch."""
    _liger_and_triton()
    env = {**os.environ, "TRITON_INTERPRET": "1", "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", INTERPRETED], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]


@pytest.mark.gpu
def test_no_host_synchronisation_on_the_gpu():
    """Forward and backward on CUDA logits run with torch's sync debug mode set to 'error' (Liger's own
    Function syncs four times: .item(), two asserts, torch.equal), and agree with torch's loss."""
    _liger_and_triton()
    from mist_ds.runtime.liger_loss import liger_cross_entropy
    from mist_ds.runtime.loss import IGNORE_INDEX

    gen = torch.Generator(device="cuda").manual_seed(0)
    logits = torch.randn(2, 512, 32000, device="cuda", generator=gen).mul_(3).bfloat16()
    labels = torch.randint(0, 32000, (2, 512), device="cuda", generator=gen)
    ref = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), labels.flatten())
    x = logits.clone().requires_grad_(True)
    liger_cross_entropy(x, labels, IGNORE_INDEX)   # compile the kernels first: Triton's first launch may sync
    x = logits.clone().requires_grad_(True)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        loss = liger_cross_entropy(x, labels, IGNORE_INDEX)
        (0.5 * loss).backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert abs(loss.item() - ref.item()) < 1e-4 * ref.item()
