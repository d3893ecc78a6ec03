"""bench/engine/host_hooks.py: one short run over every configuration reports a positive host time
per block pass for each, and the hooks each configuration must call."""

from __future__ import annotations

from bench.engine import host_hooks


def test_every_configuration_reports_positive_host_time(tmp_path):
    out = tmp_path / "hooks.json"
    report = host_hooks.main(["--blocks", "3", "--hidden", "16", "--seq", "4", "--passes", "2",
                              "--repeats", "1", "--out", str(out)])
    results = report["results"]
    assert set(results) == set(host_hooks.CONFIGS) and out.exists()
    for name, r in results.items():
        assert r["forward_hooks_us"] > 0 and r["backward_hooks_us"] > 0, name
        assert r["pass_us"]["forward"] > 0 and r["pass_us"]["backward"] > 0, name
        assert r["hook_calls"]["forward_begin"] == r["hook_calls"]["backward_begin"] == 1.0, name
    # saved tensors go through pack/unpack only where a block has managed weights or offloads
    assert "pack" not in results["none"]["hooks_us"] and "pack" not in results["recompute"]["hooks_us"]
    assert results["all"]["hooks_us"]["pack"] > 0 and results["weights"]["hooks_us"]["unpack"] > 0
    # activation offload queues copies: counted as device ops and stream calls per block pass
    assert results["activations"]["device_ops"]["forward"]["copy_"] > 0
    assert results["activations"]["stream_calls"]["forward"]["fork"] > 0
    assert results["none"]["stream_calls"]["backward"] == {}
