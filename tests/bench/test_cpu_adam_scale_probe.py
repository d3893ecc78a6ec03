"""bench/runtime/cpu_adam_scale_probe.py: DeepSpeed's per-sub-group step loop, on torch's Adam (CPU, no op build)."""

import subprocess
import sys
from pathlib import Path

import torch

from bench.runtime.cpu_adam_scale_probe import step_seconds, sub_groups

ROOT = Path(__file__).resolve().parents[2]


def test_sub_groups_cover_the_total_each_with_a_gradient():
    params = sub_groups(10, 4, pin=False)
    assert [p.numel() for p in params] == [4, 4, 2]
    assert all(p.grad is not None and p.grad.shape == p.shape for p in params)


def test_a_step_scales_every_gradient_once_and_steps_every_sub_group():
    params = sub_groups(10, 4, pin=False)
    grads, masters = [p.grad.clone() for p in params], [p.detach().clone() for p in params]
    times = step_seconds(torch.optim.Adam(params, lr=1e-2), params, repeats=2)
    assert len(times) == 2 and all(t > 0 for t in times)
    for param, grad, master in zip(params, grads, masters):
        assert torch.equal(param.grad, grad * 0.5**3)  # the untimed step and two timed ones
        assert not torch.equal(param.detach(), master)  # Adam stepped it


def test_bad_sizes_get_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "bench/runtime/cpu_adam_scale_probe.py", "--total", "0"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
