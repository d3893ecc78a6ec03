"""bench/runtime/median_attention_samples.py: per shape, the median of a profile's sample and re-measured passes."""

import json
import subprocess
import sys
from pathlib import Path

from bench.runtime.median_attention_samples import median_records
from bench.runtime.remeasure_attention import shapes_of
from mist_ds.config.profiles import load_hardware

ROOT = Path(__file__).resolve().parents[2]


def record(fwd, bwd, heads=16):
    return {"batch": 2, "num_heads": heads, "num_kv_heads": heads, "seq_len": 4096, "head_dim": 64, "causal": True,
            "fwd_time_s": fwd, "bwd_time_s": bwd, "backend": "sdpa-cudnn"}


def test_a_glitched_pass_is_outvoted_per_field():
    merged = median_records({"k": [record(0.2, 1.8), record(0.3, 0.2), record(0.25, 0.21)]})
    assert merged == [record(0.25, 0.21)]


def test_cli_merges_the_profiles_own_sample_with_the_logs(tmp_path):
    # the shipped H100 node profile holds (2, 16, 16, 4096, 64, causal); two passes read it faster
    logs = []
    for i, bwd in enumerate((1e-6, 2e-6)):
        log = tmp_path / f"pass{i}.log"
        log.write_text("# header\n" + json.dumps([record(1e-6, bwd), record(3e-6, 3e-6, heads=15)]) + "\n")
        logs.append(str(log))
    out = subprocess.run([sys.executable, "bench/runtime/median_attention_samples.py", "h100-1gpu-node", *logs],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    rows = {r["num_heads"]: r for r in json.loads(out)}
    assert rows[16]["fwd_time_s"] == 1e-6 and rows[16]["bwd_time_s"] == 2e-6  # median of 1e-6, 2e-6 and the profile's
    assert rows[15]["bwd_time_s"] == 3e-6  # a shape the profile lacks: its one pass


def test_passes_only_leaves_the_profiles_sample_out(tmp_path):
    # two gated passes of (2, 16, 16, 4096, 64): their median alone, not with the profile's ungated sample (~6e-4 s)
    log = tmp_path / "gated.log"
    log.write_text("\n".join(json.dumps([record(1e-6, bwd)]) for bwd in (1e-6, 2e-6)) + "\n")

    def backward(*flags):
        out = subprocess.run([sys.executable, "bench/runtime/median_attention_samples.py", "h100-1gpu-node", str(log),
                              *flags], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return json.loads(out)[0]["bwd_time_s"]

    assert backward() == 2e-6 and backward("--passes-only") == 1.5e-6


def test_remeasure_times_the_profiles_shapes_then_new_extras_once():
    shapes = shapes_of("h100-1gpu-node", ["2,16,16,4096,64", "3,5,5,100,64"])
    assert (2, 16, 16, 4096, 64, True) in shapes and shapes[-1] == (3, 5, 5, 100, 64, True)
    own = len(load_hardware("h100-1gpu-node").attention_samples)
    assert len(shapes) == len(set(shapes)) == own + 1  # the profile's shapes, the repeated extra once


def test_bad_input_gets_one_line_and_exit_2(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_text("no records here\n")
    for script, args in (("median_attention_samples.py", ["no-such-profile", str(empty)]),
                         ("median_attention_samples.py", ["h100-1gpu-node", str(empty)]),
                         ("median_attention_samples.py", ["h100-1gpu-node", str(tmp_path / "missing.log")]),
                         ("remeasure_attention.py", ["h100-1gpu-node", "--extra", "2,16,4096"]),
                         ("remeasure_attention.py", ["h100-1gpu-node", "--gate-s", "-1"])):
        done = subprocess.run([sys.executable, f"bench/runtime/{script}", *args], cwd=ROOT, capture_output=True,
                              text=True)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, (script, args, done.stderr)
