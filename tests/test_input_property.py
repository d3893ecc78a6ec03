"""Property test over autotune's whole input surface (issue 11, item 6).

Random CLI flags, hostfiles and HF config.json files, hostile values mixed with sane ones, through
`mist_ds.autotune.main(argv)` in-process: every run ends with exit 0, 2 or 3 within a time bound;
on 2 or 3 with exactly one stderr line and nothing written (not even a temporary file); on 0 with
--out, a complete output folder. Small models and clusters keep each run well under a second.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mist_ds import autotune

TIME_BOUND_S = 10.0  # per run; hostile cases take < 0.1 s, sane small searches < 1 s
HOSTILE_VALUES = ["4096", 4096.0, 1e9, float("nan"), float("inf"), True, None, [], {"a": 1}, 0, -5,
                  10**9, 10**30]
HOSTILE_INTS = ["0", "-1", "1e20", str(10**20), "two", "", "4096"]


class Picker:
    """Draws each input sane or hostile: a run is all sane (rate 0), has a few hostile values
    (rate 1 in 10) or many (5 in 10), so that successes, infeasible requests and errors all occur."""

    def __init__(self, draw) -> None:
        self.draw = draw
        self.rate = draw(st.sampled_from([0, 0, 1, 1, 5]))

    def __call__(self, sane: list, hostile: list):
        hostile_now = self.rate and self.draw(st.integers(0, 9)) < self.rate
        return self.draw(st.sampled_from(hostile if hostile_now else sane))

    def maybe(self) -> bool:
        """Whether to add an optional flag or key."""
        return self.draw(st.integers(0, 3)) == 0


# Every family's keys in one dict (readers ignore the others' keys).
HF_KEYS = {
    "hidden_size": [64, 128], "n_embd": [64, 128], "num_attention_heads": [2, 4], "n_head": [2, 4],
    "num_hidden_layers": [1, 2, 4], "n_layer": [1, 2, 4], "intermediate_size": [128, 256],
    "vocab_size": [256, 1000],
}
HF_OPTIONAL = {
    "num_key_value_heads": [1, 2], "head_dim": [32, None], "max_position_embeddings": [256, 2048],
    "n_positions": [256, 2048], "rope_theta": [10000.0, 500000], "rms_norm_eps": [1e-5, 1e-6],
    "tie_word_embeddings": [True, False], "rotary_pct": [0.25, 1.0], "hidden_act": ["silu"],
    "_name_or_path": ["m"],
}
HOSTILE_HOSTS = ["-rf", "a;b", "$(id)", "node[1-2]", "`x`", "ü", "x" * 300, "a|b"]
SLOTS = (["1", "2", "2", "4"], ["0", "99999999999999999999", "abc", "-1", "٣"])
OUTS = ([None, None, "out", "deep/er/out", "a b/out"],
        ["", "afile/sub", "afile", "lsdir", "/proc/no-such/out", ".", "/"])
FLAGS = {
    "--memory-gb": (["40", "0.05"], ["inf", "nan", "-1", "1e9", "1000", "1e-300", "x"]),
    "--zero-stages": (["1", "3", "0,1,2,3"], ["5", "", "a", "1,,9"]),
    "--max-micro-batch": (["1", "4"], HOSTILE_INTS), "--max-pp": (["1", "2"], HOSTILE_INTS),
    "--max-tp": (["1", "2"], HOSTILE_INTS), "--top": (["1", "2"], ["0", "1000000", "x"]),
}
SWITCHES = ["--no-offload", "--no-pipeline", "--no-tp", "--no-recompute", "--json", "--force-memory",
            "--no-offload-activations"]


def _hf_config(pick: Picker) -> dict:
    config = {"model_type": pick(["llama", "mistral", "qwen2", "gpt2", "gpt_neox"], ["bert", 5, None, ["llama"]])}
    config.update({key: pick(sane, HOSTILE_VALUES) for key, sane in HF_KEYS.items()})
    config.update({key: pick(sane, HOSTILE_VALUES) for key, sane in HF_OPTIONAL.items() if pick.maybe()})
    return config


def _hostfile(pick: Picker, draw) -> str:
    """Distinct hosts with one slot count, where each host, slot count or line may turn hostile."""
    slots = draw(st.sampled_from(SLOTS[0]))
    lines = []
    for i in range(draw(st.integers(1, 3))):
        host = pick([f"node-{i}"], HOSTILE_HOSTS)
        lines.append(pick([f"{host} slots={pick([slots], SLOTS[1])}"],
                          ["# comment", "", "garbage line", "a slots=2 extra", "node-0 slots=1"]))
    return "\n".join(lines) + "\n"


@st.composite
def invocations(draw) -> tuple[list[str], str | None, dict | None]:
    """(argv, hostfile text or None, HF config or None); paths are relative to a fresh folder."""
    pick = Picker(draw)
    config = _hf_config(pick) if draw(st.booleans()) else None
    model = pick(["model/config.json", "model"], ["", "/dev/zero", "missing.json"]) if config else \
        pick(["gpt-125m"], ["gpt-125mm", "", "/dev/zero", "missing.json"])
    argv = ["--model", model]
    hostfile = _hostfile(pick, draw) if draw(st.booleans()) else None
    if hostfile is not None:
        argv += ["--hostfile", "hosts"]
    else:
        argv += ["--gpus-per-node", pick(["1", "2", "4", "8"], HOSTILE_INTS)]
        if pick.maybe():
            argv += ["--nodes", pick(["1", "2"], HOSTILE_INTS)]
    argv += ["--global-batch", pick(["1", "4", "8", "16"], HOSTILE_INTS),
             "--seq-len", pick(["64", "128", "256"], HOSTILE_INTS)]
    for flag, (sane, hostile) in FLAGS.items():
        if pick.maybe():
            argv += [flag, pick(sane, hostile)]
    out = pick(*OUTS)
    if out is not None:
        argv += ["--out", out]
    argv += draw(st.lists(st.sampled_from(SWITCHES), max_size=3, unique=True))
    if "--top" not in argv:
        argv += ["--top", "1"]
    return argv, hostfile, config


def _tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in root.rglob("*")}


def _prepare(root: Path, hostfile: str | None, config: dict | None) -> None:
    (root / "afile").write_text("x")
    (root / "lsdir" / "launch.sh").mkdir(parents=True)
    if hostfile is not None:
        (root / "hosts").write_text(hostfile)
    if config is not None:
        (root / "model").mkdir()
        (root / "model" / "config.json").write_text(json.dumps(config))


def _run(argv: list[str], root: Path) -> tuple[int, str, float]:
    """autotune.main(argv) in `root`: (exit code, stderr, seconds)."""
    err, previous = io.StringIO(), os.getcwd()
    os.chdir(root)
    try:
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = autotune.main(argv)
        return code, err.getvalue(), time.perf_counter() - start
    finally:
        os.chdir(previous)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(invocations())
def test_every_input_ends_cleanly(case: tuple[list[str], str | None, dict | None]) -> None:
    argv, hostfile, config = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _prepare(root, hostfile, config)
        before = _tree(root)
        code, err, seconds = _run(argv, root)
        assert code in (0, 2, 3), (argv, code, err)
        assert seconds < TIME_BOUND_S, (argv, seconds)
        if code:
            assert err.count("\n") == 1 and err.endswith("\n"), (argv, err)
            assert "Traceback" not in err
            assert _tree(root) == before, argv  # nothing written, no temporary leftovers
        elif "--out" in argv:
            out = root / argv[argv.index("--out") + 1]
            assert (out / "plan.json").is_file() and (out / "launch.sh").is_file(), argv
            leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
            assert leftovers == [], leftovers
