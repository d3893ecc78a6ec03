"""The accuracy suite's catalogue: named GPU cases (plain data) grouped into batches.

A case is a Knobs (bench/accuracy/schema.py: the only place that knows the Plan schema) or an
AutotuneCase (the search's winner for a request). Families and workloads derive from the knobs, so
the report classifies older committed runs the same way. Every batch fits one ~9-minute call of a
1- or 2-GPU machine (bench/accuracy/run_batch.py skips what would overrun its budget).

Naming: <model>-<gpus>g-c<cap GiB>[-s<seq>][-b<global batch>]-<strategy>; model shorthand
l7 llama-7b, l13 llama-13b, l38b llama3-8b (GQA), l13b llama-1.3b, l27 llama-2.7b, g13 gpt-1.3b,
g27 gpt-2.7b, g67 gpt-6.7b, l321b llama3.2-1b and l323b llama3.2-3b (GQA, head tied to a 128k vocabulary).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bench.accuracy.schema import Knobs
from mist_ds.config.plan_kind import strategy_family


@dataclass(frozen=True)
class Case:
    """One plan to run, with why it is in the suite."""

    name: str
    knobs: Knobs
    note: str = ""
    """What the case tests (memory-binding, a known failure, ...)."""
    in_sample: tuple[str, ...] = ()
    """Fitted cost-model terms (profile field names) whose fit used this case's run: the report
    lists these runs apart from held-out ones."""


@dataclass(frozen=True)
class AutotuneCase:
    """The search's winner for a request, generated with the cost model of its day and then frozen
    (the generator never replaces a plan that already has a run)."""

    name: str
    model: str
    """A preset name, or a Hugging Face config.json's path from the repository root (mist_ds.config.resolve_model)."""
    num_gpus: int
    cap_gib: float
    seq_len: int
    global_batch: int
    hardware: str = "h200"
    space: dict = field(default_factory=dict)
    """mist_ds.config.SearchSpace overrides."""
    note: str = ""
    in_sample: tuple[str, ...] = ()


SHORT = {"l7": "llama-7b", "l13": "llama-13b", "l38b": "llama3-8b", "l13b": "llama-1.3b",
         "l27": "llama-2.7b", "g13": "gpt-1.3b", "g27": "gpt-2.7b", "g67": "gpt-6.7b",
         "l321b": "llama3.2-1b", "l323b": "llama3.2-3b", "g350m": "gpt-350m", "g760m": "gpt-760m"}


def _case(name: str, gpus: int, cap: float, seq: int, gb: int, mb: int, zero: int, *,
          note: str = "", **knobs) -> Case:
    """A case whose model is the name's first token; dp defaults to the GPUs left by pp and tp."""
    pp, tp = knobs.get("pp", 1), knobs.get("tp", 1)
    knobs.setdefault("dp", gpus // (pp * tp))
    for key in ("recompute", "act_offload", "layers"):
        if isinstance(knobs.get(key), int):
            knobs[key] = (knobs[key],)
    model = SHORT[name.split("-")[0]]
    return Case(name, Knobs(model=model, num_gpus=gpus, cap_gib=cap, seq_len=seq, global_batch=gb,
                            micro_batch=mb, zero=zero, **knobs), note)


MEM = "memory-binding (predicted within ~10% of the cap)"
OFF = dict(offload_optimizer=1.0)

# Batch 1 (2 GPUs): the families where the model was worst (issue 10): ZeRO-3 time (+24..36%),
# TP without ZeRO (optimizer-step OOM), ZeRO-1 optimizer offload (GPU memory -26%, time -25%).
B1 = [
    _case("l7-2g-c78-z3-mb1-rc0", 2, 78, 4096, 8, 1, 3, note=MEM),
    _case("l7-2g-c78-tp2-z0-mb1-rc16", 2, 78, 4096, 8, 1, 0, tp=2, recompute=16,
          note="TP 2 without ZeRO: optimizer-step peak (a 6.7B TP-2 ZeRO-0 plan OOMed)"),
    _case("l7-2g-c40-b4-z1-off1-rc32", 2, 40, 4096, 4, 1, 1, recompute=32, **OFF,
          note="ZeRO-1 + optimizer offload keeps 16-bit gradients on the GPU (issue 10: +11.7 GiB)"),
    _case("l7-2g-c78-z3-mb2-rc32", 2, 78, 4096, 8, 2, 3, recompute=32),
    _case("l7-2g-c78-tp2-z1-mb1-rc0", 2, 78, 4096, 8, 1, 1, tp=2, note=MEM),
    AutotuneCase("auto-l38b-2g-c78-s8192-b4", "llama3-8b", 2, 78, 8192, 4,
                 note="the search's winner is TP 2 without ZeRO (optimizer-step peak), seq 8192, GQA"),
]

# Batch 2 (2 GPUs): ZeRO-3 optimizer offload at ratios 0.5 / 1.0, weight offload (GQA model).
B2 = [
    _case("l7-2g-c40-b4-z3-off05-rc32", 2, 40, 4096, 4, 1, 3, recompute=32, offload_optimizer=0.5),
    _case("l7-2g-c40-b4-z3-off1-rc32", 2, 40, 4096, 4, 1, 3, recompute=32, **OFF),
    _case("l38b-2g-c40-b4-z3-w1-off1-rc32", 2, 40, 4096, 4, 1, 3, recompute=32, offload_weights=1.0,
          **OFF, note="weight offload, GQA (8 kv heads), 128k vocabulary"),
]

# Batch 3 (1-GPU cases, no CPU offload: two at a time on a 2-GPU machine): ZeRO 0-3 x micro-batch x
# recompute on four small-model workloads (each >= 4 plans for the rank correlation).
B3 = [
    _case("g13-1g-c40-s2048-z0-mb2", 1, 40, 2048, 8, 2, 0),
    _case("g13-1g-c40-s2048-z3-mb2", 1, 40, 2048, 8, 2, 3),
    _case("g13-1g-c40-s2048-z1-mb2", 1, 40, 2048, 8, 2, 1),
    _case("g13-1g-c40-s2048-z3-mb4-rc24", 1, 40, 2048, 8, 4, 3, recompute=24),
    _case("g13-1g-c40-s2048-z2-mb4-rc24", 1, 40, 2048, 8, 4, 2, recompute=24),
    _case("l13b-1g-c40-s2048-z0-mb4-rc24", 1, 40, 2048, 8, 4, 0, recompute=24),
    _case("l13b-1g-c40-s2048-z1-mb2", 1, 40, 2048, 8, 2, 1),
    _case("l13b-1g-c40-s2048-z2-mb2", 1, 40, 2048, 8, 2, 2),
    _case("l13b-1g-c40-s2048-z3-mb4-rc24", 1, 40, 2048, 8, 4, 3, recompute=24),
    _case("g27-1g-c78-s2048-z0-mb2", 1, 78, 2048, 8, 2, 0),
    _case("g27-1g-c78-s2048-z1-mb4-rc24", 1, 78, 2048, 8, 4, 1, recompute=24),
    _case("g27-1g-c78-s2048-z2-mb4-rc0", 1, 78, 2048, 8, 4, 2, note=MEM),
    _case("g27-1g-c78-s2048-z3-mb4-rc24", 1, 78, 2048, 8, 4, 3, recompute=24),
    _case("l27-1g-c78-b4-z1-mb1", 1, 78, 4096, 4, 1, 1),
    _case("l27-1g-c78-b4-z2-mb2-rc32", 1, 78, 4096, 4, 2, 2, recompute=32),
    _case("l27-1g-c78-b4-z3-mb2-rc16", 1, 78, 4096, 4, 2, 3, recompute=16),
    _case("l27-1g-c78-b4-z0-mb4-rc32", 1, 78, 4096, 4, 4, 0, recompute=32),
]

# Batch 4 (1 GPU, CPU offload: one at a time; fits a 1-GPU machine's 128 GiB of host memory).
B4 = [
    _case("g13-1g-c24-s2048-z1-off1-mb2", 1, 24, 2048, 8, 2, 1, **OFF),
    _case("g13-1g-c24-s2048-z2-off1-mb2", 1, 24, 2048, 8, 2, 2, **OFF),
    _case("g13-1g-c24-s2048-z3-off05-mb2", 1, 24, 2048, 8, 2, 3, offload_optimizer=0.5),
    _case("g13-1g-c24-s2048-z3-off1-mb2", 1, 24, 2048, 8, 2, 3, **OFF),
    _case("g13-1g-c24-s2048-z3-w1-off1-mb2", 1, 24, 2048, 8, 2, 3, offload_weights=1.0, **OFF),
    _case("l13b-1g-c40-s2048-z1-mb4-act24", 1, 40, 2048, 8, 4, 1, act_offload=24),
]

# Batch 5 (2 GPUs): pipelines with even and uneven splits and per-stage recompute; TP 2 at 6.7B.
B5 = [
    _case("l7-2g-c78-pp2-16x16-z1-rc0x6", 2, 78, 4096, 8, 1, 1, pp=2, recompute=(0, 6), note=MEM),
    _case("l7-2g-c78-pp2-15x17-z1-rc4x8", 2, 78, 4096, 8, 1, 1, pp=2, layers=(15, 17), recompute=(4, 8)),
    _case("g67-2g-c78-s2048-b16-pp2-18x14-z0-rc6x0", 2, 78, 2048, 16, 1, 0, pp=2, layers=(18, 14),
          recompute=(6, 0), note=MEM),
    _case("g67-2g-c78-s2048-b16-pp2-14x18-z0-rc0x8", 2, 78, 2048, 16, 1, 0, pp=2, layers=(14, 18),
          recompute=(0, 8)),
    _case("g67-2g-c78-s2048-b16-pp2-16x16-z0", 2, 78, 2048, 16, 1, 0, pp=2),
    _case("g67-2g-c78-s2048-b16-z3-mb2-rc32", 2, 78, 2048, 16, 2, 3, recompute=32),
    _case("g67-2g-c78-s2048-b16-tp2-z0-mb1-rc32", 2, 78, 2048, 16, 1, 0, tp=2, recompute=32,
          note="TP 2 without ZeRO at 6.7B (issue 10: OOM at the first optimizer step)"),
]

# Batch 6 (2 GPUs): a 2.7B Llama at 40 GiB: TP 2, pipeline, ZeRO-2/3, activation offload in a
# pipeline; and ZeRO-3 at micro-batch 4 for the 7B workload.
B6 = [
    _case("l27-2g-c40-tp2-z0-mb2", 2, 40, 4096, 8, 2, 0, tp=2, note=MEM),
    _case("l27-2g-c40-tp2-z1-mb2-rc16", 2, 40, 4096, 8, 2, 1, tp=2, recompute=16),
    _case("l27-2g-c40-tp2-z0-mb4-rc32", 2, 40, 4096, 8, 4, 0, tp=2, recompute=32),
    _case("l27-2g-c40-pp2-14x18-z1-rc0x8", 2, 40, 4096, 8, 1, 1, pp=2, layers=(14, 18), recompute=(0, 8)),
    _case("l27-2g-c40-z3-mb2-rc16", 2, 40, 4096, 8, 2, 3, recompute=16, note=MEM),
    _case("l27-2g-c40-z2-mb1", 2, 40, 4096, 8, 1, 2, note=MEM),
    _case("l27-2g-c40-pp2-18x14-z1-act9x0", 2, 40, 4096, 8, 1, 1, pp=2, layers=(18, 14),
          act_offload=(9, 0)),
    _case("l7-2g-c78-z3-mb4-rc32", 2, 78, 4096, 8, 4, 3, recompute=32),
]

# Batch 7 (2 GPUs): the search's winners, a plan predicted over its cap, ZeRO-2 offload.
B7 = [
    AutotuneCase("auto-l7-2g-c78-s4096-b8", "llama-7b", 2, 78, 4096, 8),
    _case("l7-2g-c78-z3-mb1-rc16", 2, 78, 4096, 8, 1, 3, recompute=16),
    AutotuneCase("auto-l27-2g-c40-s4096-b8", "llama-2.7b", 2, 40, 4096, 8),
    AutotuneCase("auto-g27-1g-c24-s2048-b8", "gpt-2.7b", 1, 24, 2048, 8),
    _case("l7-2g-c78-z2-mb1-rc32", 2, 78, 4096, 8, 1, 2, recompute=32,
          note="predicted just over the cap; the issue-10 ZeRO-2 optimizer-step OOM"),
    _case("l7-2g-c40-b4-z2-off1-rc32", 2, 40, 4096, 4, 1, 2, recompute=32, **OFF),
]

# Batch 8 (1 GPU, CPU offload): the 2.7B Llama's offload plans, activation offload with recompute.
B8 = [
    _case("g13-1g-c40-s2048-z0-mb4-rc12-act12", 1, 40, 2048, 8, 4, 0, recompute=12, act_offload=12),
    _case("l27-1g-c24-s2048-z2-off1-mb2", 1, 24, 2048, 8, 2, 2, **OFF),
    _case("l27-1g-c24-s2048-z3-off05-mb2-rc32", 1, 24, 2048, 8, 2, 3, recompute=32,
          offload_optimizer=0.5),
    _case("l27-1g-c24-s2048-z3-w1-off1-mb2", 1, 24, 2048, 8, 2, 3, offload_weights=1.0, **OFF),
]

# Batch 9 (2 GPUs): 13B and 8B ZeRO-3 offload, 7B weight offload at 24 GiB.
B9 = [
    _case("l13-2g-c78-b4-z3-off05-rc40", 2, 78, 4096, 4, 1, 3, recompute=40, offload_optimizer=0.5,
          note="13B: half the optimizer states on the GPU"),
    _case("l38b-2g-c78-b4-z3-off05-rc32", 2, 78, 4096, 4, 1, 3, recompute=32, offload_optimizer=0.5),
    _case("l7-2g-c24-s2048-b4-z3-w1-off1-rc32", 2, 24, 2048, 4, 1, 3, recompute=32,
          offload_weights=1.0, **OFF),
]

# Batch 10 (2 GPUs): activation offload at 7B; then host-memory binding (issue 18): ~110 GiB of CPU
# state per GPU on a 256 GiB node, last, since it may take minutes to be killed.
B10 = [
    _case("l7-2g-c78-z3-mb1-rc16-act16", 2, 78, 4096, 8, 1, 3, recompute=16, act_offload=16),
    _case("l13-2g-c78-b4-z3-off1-rc40", 2, 78, 4096, 4, 1, 3, recompute=40, **OFF,
          note="host-memory binding: ~110 GiB of CPU state per GPU on a 256 GiB node (issue 18)"),
]

# Batch 11 (2 GPUs): issue 18's request as a user types it (autotune --zero-stages 2,3), its winner
# run through the folder's launch.sh (the fallback wrapper), not through run_batch.
B11 = [
    AutotuneCase("auto-l13-2g-c78-s4096-b32-z23", "llama-13b", 2, 78, 4096, 32,
                 space={"zero_stages": (2, 3)},
                 note="issue 18's request; run by launch.sh --steps 3 --warmup 1 (2 timed steps)"),
]

# Batch 12 (1 GPU, mistpipe): the engine's memory settings beyond the llama-2.7b optimizer-offload winners
# (bench/results/engine/): optimizer states with and without gradients on the host, weights on the host
# in part and in full, activation offload beside an offloaded optimizer; gpt and llama blocks. Each
# stage's optimizer path is the engine's rule (the GPU swap at these sizes).
MP = dict(executor="mistpipe")
B12 = [
    _case("g13-1g-c16-s2048-mp-mb2-off1", 1, 16, 2048, 8, 2, 0, **MP, **OFF, offload_gradients=0.0),
    _case("g13-1g-c16-s2048-mp-mb2-og1-off1", 1, 16, 2048, 8, 2, 0, **MP, **OFF),
    _case("g13-1g-c16-s2048-mp-mb2-w05-off1", 1, 16, 2048, 8, 2, 0, **MP, **OFF, offload_gradients=0.0,
          offload_weights=0.5),
    _case("g27-1g-c24-s2048-mp-mb2-w1-og1-off1-rc32", 1, 24, 2048, 8, 2, 0, **MP, **OFF, offload_weights=1.0,
          recompute=32, note="every model state on the host"),
    _case("l13b-1g-c24-s2048-mp-mb4-act12-off1", 1, 24, 2048, 8, 4, 0, **MP, **OFF, offload_gradients=0.0,
          act_offload=12),
    _case("l27-1g-c40-s4096-b8-mp-mb1-og05-off05-rc16", 1, 40, 4096, 8, 1, 0, **MP, offload_optimizer=0.5,
          recompute=16),
]

# Batch 13 (1 GPU): ZeRO-3 with stage3_max_live_parameters bounded to the reuse set (Plan.zero3_max_live,
# what the search now writes), on the 1-GPU plans that gather (weights offloaded): their twins above ran
# DeepSpeed's default bound (bench/results/runtime/max_live_S18/).
LIVE = dict(zero3_max_live="reuse_set")
B13 = [
    _case("g13-1g-c24-s2048-z3-w1-off1-mb2-live", 1, 24, 2048, 8, 2, 3, offload_weights=1.0, **OFF, **LIVE),
    _case("l27-1g-c24-s2048-z3-w1-off1-mb2-live", 1, 24, 2048, 8, 2, 3, offload_weights=1.0, **OFF, **LIVE),
]

# Batch 14 (2 GPUs): the same bound where ZeRO-3 all-gathers (dp 2), against twins in batches 1 and 9.
B14 = [
    _case("l7-2g-c78-z3-mb2-rc32-live", 2, 78, 4096, 8, 2, 3, recompute=32, **LIVE),
    _case("l7-2g-c24-s2048-b4-z3-w1-off1-rc32-live", 2, 24, 2048, 4, 1, 3, recompute=32,
          offload_weights=1.0, **OFF, **LIVE),
]

# Batch 15 (1 GPU): ZeRO-3 fetching whole blocks (Plan.zero3_fetch_unit = 'block', what the search now writes where
# nothing is gathered), twins of the 1-GPU ZeRO-3 plans above, which fetch every submodule (S22-1: 12-50% faster
# on two of them, bench/results/runtime/z3leaf_S22/); the weight-offload twins gather from the host, where the
# search keeps per-submodule fetching: they measure what block fetching does there.
BLK = dict(zero3_fetch_unit="block")
B15 = [
    _case("g13-1g-c40-s2048-z3-mb2-blk", 1, 40, 2048, 8, 2, 3, **BLK),
    _case("g13-1g-c40-s2048-z3-mb4-rc24-blk", 1, 40, 2048, 8, 4, 3, recompute=24, **BLK),
    _case("l13b-1g-c40-s2048-z3-mb4-rc24-blk", 1, 40, 2048, 8, 4, 3, recompute=24, **BLK),
    _case("g27-1g-c78-s2048-z3-mb4-rc24-blk", 1, 78, 2048, 8, 4, 3, recompute=24, **BLK),
    _case("l27-1g-c78-b4-z3-mb2-rc16-blk", 1, 78, 4096, 4, 2, 3, recompute=16, **BLK),
    _case("g13-1g-c24-s2048-z3-off05-mb2-blk", 1, 24, 2048, 8, 2, 3, offload_optimizer=0.5, **BLK),
    _case("g13-1g-c24-s2048-z3-off1-mb2-blk", 1, 24, 2048, 8, 2, 3, **OFF, **BLK),
    _case("g13-1g-c24-s2048-z3-w1-off1-mb2-live-blk", 1, 24, 2048, 8, 2, 3, offload_weights=1.0, **OFF, **LIVE,
          **BLK),
    _case("l27-1g-c24-s2048-z3-w1-off1-mb2-live-blk", 1, 24, 2048, 8, 2, 3, offload_weights=1.0, **OFF, **LIVE,
          **BLK),
]

# Batch 16 (2 GPUs): whole-block fetching where ZeRO-3 all-gathers (dp 2), which the search does not write until
# it is measured (config/plan.py gathers_nothing): twins of l27-2g-c40-z3-mb2-rc16 (batch 6) and of the reuse-set
# bounded l7-2g-c78-z3-mb2-rc32-live (batch 14), time and the larger reuse set (cost/memory.py reuse_set_elements).
B16 = [
    _case("l27-2g-c40-z3-mb2-rc16-blk", 2, 40, 4096, 8, 2, 3, recompute=16, **BLK),
    _case("l7-2g-c78-z3-mb2-rc32-live-blk", 2, 78, 4096, 8, 2, 3, recompute=32, **LIVE, **BLK),
]

# Batch 17 (1 GPU): held-out checks of the backward's copy chain (cost/stage_time.py copy_chain_s, session 24, built
# from profiled steps of gpt-1.3b and llama-2.7b plans): two other models with weights and optimizer offloaded,
# a larger micro-batch (more compute beside the same copies) and optimizer offload without weight offload.
B17 = [
    _case("l13b-1g-c24-s2048-z3-w1-off1-mb2-live-blk", 1, 24, 2048, 8, 2, 3, offload_weights=1.0, **OFF, **LIVE,
          **BLK),
    _case("g27-1g-c24-s2048-z3-w1-off1-mb2-live-blk", 1, 24, 2048, 8, 2, 3, offload_weights=1.0, **OFF, **LIVE,
          **BLK),
    _case("g13-1g-c24-s2048-z3-w1-off1-mb4-live-blk", 1, 24, 2048, 8, 4, 3, offload_weights=1.0, **OFF, **LIVE,
          **BLK),
    _case("l27-1g-c40-s2048-z3-off05-mb2-blk", 1, 40, 2048, 8, 2, 3, offload_optimizer=0.5, **BLK),
]

# Batch 18 (1 GPU): held-out checks of the 1-GPU node's pageable write-back rate (pageable_h2d_bandwidth_gbps
# 3.909 GB/s, measured from unprofiled optimizer steps in session 25: bench/accuracy/writeback_rate.py), on ZeRO-3
# optimizer-offload plans without weight offload that no run had seen: two other models at ratios 1 and 0.5,
# llama-2.7b at ratio 1 and a larger micro-batch.
B18 = [
    _case("g27-1g-c40-s2048-z3-off05-mb2-blk", 1, 40, 2048, 8, 2, 3, offload_optimizer=0.5, **BLK),
    _case("l13b-1g-c24-s2048-z3-off1-mb2-blk", 1, 24, 2048, 8, 2, 3, **OFF, **BLK),
    _case("l13b-1g-c24-s2048-z3-off05-mb2-blk", 1, 24, 2048, 8, 2, 3, offload_optimizer=0.5, **BLK),
    _case("l27-1g-c40-s2048-z3-off1-mb2-blk", 1, 40, 2048, 8, 2, 3, **OFF, **BLK),
    _case("g13-1g-c24-s2048-z3-off1-mb4-blk", 1, 24, 2048, 8, 4, 3, **OFF, **BLK),
]

# Batches 19 and 20 (1 GPU): a model family no run had seen, held out of every fit: Llama 3.2's 3B and 1B shapes
# (grouped-query attention with 8 kv heads, head dims 128 and 64, the head tied to a 128k vocabulary), seq 4096,
# global batch 16, on the 1-GPU node's profile. Each workload's search winner (AutotuneCase, hardware
# h200-1gpu-node), then other plans of the same request from the families the search ranks next, so each capped
# workload with room for several families has >= 4 plans for the rank correlation.
NODE = "h200-1gpu-node"
B19 = [
    AutotuneCase("auto-l323b-1g-c78-s4096-b16", "llama3.2-3b", 1, 78, 4096, 16, hardware=NODE),
    _case("l323b-1g-c78-s4096-b16-z1-mb1", 1, 78, 4096, 16, 1, 1),
    _case("l323b-1g-c78-s4096-b16-z3-mb2-blk", 1, 78, 4096, 16, 2, 3, **BLK),
    _case("l323b-1g-c78-s4096-b16-z2-mb4-rc28", 1, 78, 4096, 16, 4, 2, recompute=28),
    AutotuneCase("auto-l323b-1g-c40-s4096-b16", "llama3.2-3b", 1, 40, 4096, 16, hardware=NODE),
    _case("l323b-1g-c40-s4096-b16-z1-off1-mb2", 1, 40, 4096, 16, 2, 1, **OFF),
    AutotuneCase("auto-l323b-1g-c24-s4096-b16", "llama3.2-3b", 1, 24, 4096, 16, hardware=NODE),
]
B20 = [
    AutotuneCase("auto-l321b-1g-c24-s4096-b16", "llama3.2-1b", 1, 24, 4096, 16, hardware=NODE),
    _case("l321b-1g-c24-s4096-b16-z3-mb2-rc14-blk", 1, 24, 4096, 16, 2, 3, recompute=14, **BLK),
    _case("l321b-1g-c24-s4096-b16-z3-off0125-mb2-rc15-blk", 1, 24, 4096, 16, 2, 3, recompute=15,
          offload_optimizer=0.125, **BLK),
    _case("l321b-1g-c24-s4096-b16-z2-off1-mb2", 1, 24, 4096, 16, 2, 2, **OFF),
    AutotuneCase("auto-l321b-1g-c40-s4096-b16", "llama3.2-1b", 1, 40, 4096, 16, hardware=NODE),
    _case("l321b-1g-c40-s4096-b16-z1-mb1", 1, 40, 4096, 16, 1, 1),
    _case("l321b-1g-c40-s4096-b16-z2-mb2", 1, 40, 4096, 16, 2, 2),
    _case("l321b-1g-c40-s4096-b16-z3-mb4-rc16-blk", 1, 40, 4096, 16, 4, 3, recompute=16, **BLK),
]
# Batch 21 (1 GPU, held out): after session 27 priced the two earlier micro-batches' logits DeepSpeed's
# PipelineEngine holds (cost/activations.py logits_bytes), the 3B's 24 GiB search winner again (b19's ran out of
# memory asking one set) and both Llama 3.2 shapes at a 16 GiB cap, where the logits weigh most.
B21 = [
    AutotuneCase("auto-l323b-1g-c24-s4096-b16-s27", "llama3.2-3b", 1, 24, 4096, 16, hardware=NODE),
    AutotuneCase("auto-l323b-1g-c16-s4096-b16", "llama3.2-3b", 1, 16, 4096, 16, hardware=NODE),
    AutotuneCase("auto-l321b-1g-c16-s4096-b16", "llama3.2-1b", 1, 16, 4096, 16, hardware=NODE),
]
# Batch 22 (1 GPU, held out): plans made after session 27 counted a recomputed block's regenerated activations and
# the loss's logits once (cost/stage.py phase_parts), to check that rule on runs no choice of it saw: Llama 3.2
# ZeRO-1/ZeRO-3 plans with recompute at micro-batches 2 and 4 (the logits 2-4 GiB), and b20's ZeRO-3 plan at
# optimizer ratio 0.125 at a 40 GiB cap (at 24 GiB its allocator retried 14 times: what that cost).
B22 = [
    _case("l323b-1g-c78-s4096-b16-z3-mb2-rc28-blk", 1, 78, 4096, 16, 2, 3, recompute=28, **BLK),
    _case("l323b-1g-c78-s4096-b16-z3-mb4-rc20-blk", 1, 78, 4096, 16, 4, 3, recompute=20, **BLK),
    _case("l321b-1g-c40-s4096-b16-z3-mb8-rc16-blk", 1, 40, 4096, 16, 8, 3, recompute=16, **BLK),
    _case("l321b-1g-c40-s4096-b16-z1-mb4-rc16", 1, 40, 4096, 16, 4, 1, recompute=16),
    _case("l321b-1g-c40-s4096-b16-z3-off0125-mb2-rc15-blk", 1, 40, 4096, 16, 2, 3, recompute=15,
          offload_optimizer=0.125, **BLK),
]
# Batch 23 (1 GPU, held out): workloads no run had seen, each the search's winner on the 1-GPU node's profile with
# the model of session 28's start: llama-7b on one 78 GiB card (the optimizer partly offloaded), Llama 3.2 1B and
# 3B at seq 8192 (attention's share doubles), llama-2.7b at a 16 GiB cap (weights half offloaded, 18 layers
# recomputed).
B23 = [
    AutotuneCase("auto-l7-1g-c78-s4096-b16", "llama-7b", 1, 78, 4096, 16, hardware=NODE),
    AutotuneCase("auto-l321b-1g-c40-s8192-b16", "llama3.2-1b", 1, 40, 8192, 16, hardware=NODE),
    AutotuneCase("auto-l323b-1g-c40-s8192-b8", "llama3.2-3b", 1, 40, 8192, 8, hardware=NODE),
    AutotuneCase("auto-l27-1g-c16-s4096-b16", "llama-2.7b", 1, 16, 4096, 16, hardware=NODE),
]

# Session 30: workloads no run had seen (a 1-GPU Llama-3 8B, a 1-GPU GPT 6.7B, GPT-2.7B at 40 GiB), the search's
# winners predicted before their call (bench/calls/s30_call_b24.sh header): held out of every fit.
B24 = [
    AutotuneCase("auto-l38b-1g-c78-s4096-b16", "llama3-8b", 1, 78, 4096, 16, hardware=NODE),
    AutotuneCase("auto-g67-1g-c78-s2048-b16", "gpt-6.7b", 1, 78, 2048, 16, hardware=NODE),
    AutotuneCase("auto-g27-1g-c40-s2048-b16", "gpt-2.7b", 1, 40, 2048, 16, hardware=NODE),
    AutotuneCase("auto-l13b-1g-c24-s4096-b16", "llama-1.3b", 1, 24, 4096, 16, hardware=NODE),
]

# Session 31: more workloads no run had seen, each the search's winner on one card (held out of every fit);
# predictions written into bench/calls/s31_call_b25.sh before the call.
B25 = [
    AutotuneCase("auto-l7-1g-c40-s4096-b16", "llama-7b", 1, 40, 4096, 16, hardware=NODE),
    AutotuneCase("auto-g67-1g-c40-s2048-b16", "gpt-6.7b", 1, 40, 2048, 16, hardware=NODE),
    AutotuneCase("auto-l27-1g-c24-s4096-b16", "llama-2.7b", 1, 24, 4096, 16, hardware=NODE),
    AutotuneCase("auto-g13-1g-c16-s2048-b16", "gpt-1.3b", 1, 16, 2048, 16, hardware=NODE),
]

# Session 32: six more workloads no run had seen, each the search's winner on one card (held out of every fit):
# GPT-2.7B at 24 GiB, llama-2.7b at 40 GiB, Llama 3.2 3B at 24 GiB and seq 8192, Llama 3.2 1B at seq 8192 on a
# full card, llama-1.3b at 16 GiB; predictions written into bench/calls/s32_call_b26.sh before the call. Its
# sixth case (llama-7b at seq 2048 and batch 32) did not fit the call's budget and is b27's first.
B26 = [
    AutotuneCase("auto-g27-1g-c24-s2048-b16", "gpt-2.7b", 1, 24, 2048, 16, hardware=NODE),
    AutotuneCase("auto-l13b-1g-c16-s4096-b16", "llama-1.3b", 1, 16, 4096, 16, hardware=NODE),
    AutotuneCase("auto-l321b-1g-c78-s8192-b16", "llama3.2-1b", 1, 78, 8192, 16, hardware=NODE),
    AutotuneCase("auto-l27-1g-c40-s4096-b16", "llama-2.7b", 1, 40, 4096, 16, hardware=NODE),
    AutotuneCase("auto-l323b-1g-c24-s8192-b8", "llama3.2-3b", 1, 24, 8192, 8, hardware=NODE),
]

# Session 32, second call: b26's llama-7b case (it ran there as b26's, `--skip-existing`), then four more unseen
# workloads at a larger global batch or sequence (the search's winners on one card, held out of every fit):
# GPT-1.3B at 24 GiB and batch 32, Llama 3.2 3B at seq 8192 on a full card,
# GPT-2.7B and llama-1.3b at batch 32 on roomy cards (stock ZeRO-0 winners); predictions in
# bench/calls/s32_call_b27.sh before the call.
B27 = [
    AutotuneCase("auto-l7-1g-c78-s2048-b32", "llama-7b", 1, 78, 2048, 32, hardware=NODE),
    AutotuneCase("auto-g13-1g-c24-s2048-b32", "gpt-1.3b", 1, 24, 2048, 32, hardware=NODE),
    AutotuneCase("auto-l323b-1g-c78-s8192-b8", "llama3.2-3b", 1, 78, 8192, 8, hardware=NODE),
    AutotuneCase("auto-g27-1g-c78-s2048-b32", "gpt-2.7b", 1, 78, 2048, 32, hardware=NODE),
    AutotuneCase("auto-l13b-1g-c40-s4096-b32", "llama-1.3b", 1, 40, 4096, 32, hardware=NODE),
]

# Session 32, last call: the search's winners for three more unseen small-model workloads, predicted with the
# mistpipe host terms fitted that session (ad31859; the class whose errors those terms changed most), held out of
# every fit; predictions in bench/calls/s32_call_b28.sh before the call.
B28 = [
    AutotuneCase("auto-g13-1g-c16-s2048-b32", "gpt-1.3b", 1, 16, 2048, 32, hardware=NODE),
    AutotuneCase("auto-l321b-1g-c16-s4096-b32", "llama3.2-1b", 1, 16, 4096, 32, hardware=NODE),
    AutotuneCase("auto-g27-1g-c16-s2048-b16", "gpt-2.7b", 1, 16, 2048, 16, hardware=NODE),
]

# Session 33: the search's winners for four workloads no run had seen (two GPT sizes no run had used, Llama 3.2
# 3B at seq 8192 under a 16 GiB cap, llama-7b at seq 2048 under 40 GiB), held out of every fit; predictions in
# bench/calls/s33_call_b29.sh before the call.
B29 = [
    AutotuneCase("auto-g350m-1g-c16-s2048-b32", "gpt-350m", 1, 16, 2048, 32, hardware=NODE),
    AutotuneCase("auto-g760m-1g-c16-s2048-b32", "gpt-760m", 1, 16, 2048, 32, hardware=NODE),
    AutotuneCase("auto-l323b-1g-c16-s8192-b8", "llama3.2-3b", 1, 16, 8192, 8, hardware=NODE),
    AutotuneCase("auto-l7-1g-c40-s2048-b32", "llama-7b", 1, 40, 2048, 32, hardware=NODE),
]

# Session 34: two model families no run had trained, each given as its Hugging Face config.json (the user's path
# into mist_ds): Qwen2-0.5B (q/k/v biases, a 152k vocabulary tied to the embedding: the head outweighs 24 blocks)
# and Mistral-7B (GQA, 14336-wide MLP). The search's winners on one card, held out of every fit; predictions in
# bench/calls/s34_call_b30.sh before the call.
QWEN2_05B = "tests/data/hf_configs/qwen2-0.5b/config.json"
MISTRAL_7B = "tests/data/hf_configs/mistral-7b/config.json"
B30 = [
    AutotuneCase("auto-qw05b-1g-c16-s4096-b32", QWEN2_05B, 1, 16, 4096, 32, hardware=NODE),
    AutotuneCase("auto-qw05b-1g-c40-s8192-b16", QWEN2_05B, 1, 40, 8192, 16, hardware=NODE),
    AutotuneCase("auto-mis7b-1g-c78-s4096-b16", MISTRAL_7B, 1, 78, 4096, 16, hardware=NODE),
    AutotuneCase("auto-mis7b-1g-c40-s4096-b16", MISTRAL_7B, 1, 40, 4096, 16, hardware=NODE),
]

# Session 34, last call: four more unseen workloads, the search's winners with the swap's two-slot cycle priced
# (cbc5e6f): Qwen2-0.5B at 24 GiB and seq 8192 and on a full card at batch 64, Llama 3.2 3B at seq 2048 and
# batch 32, Mistral-7B at seq 2048 and batch 32; held out of every fit, predictions in bench/calls/s34_call_b31.sh.
B31 = [
    AutotuneCase("auto-qw05b-1g-c24-s8192-b32", QWEN2_05B, 1, 24, 8192, 32, hardware=NODE),
    AutotuneCase("auto-l323b-1g-c40-s2048-b32", "llama3.2-3b", 1, 40, 2048, 32, hardware=NODE),
    AutotuneCase("auto-mis7b-1g-c78-s2048-b32", MISTRAL_7B, 1, 78, 2048, 32, hardware=NODE),
    AutotuneCase("auto-qw05b-1g-c78-s4096-b64", QWEN2_05B, 1, 78, 4096, 64, hardware=NODE),  # last: FusedAdam builds meanwhile
]

# Session 35: two more model families no run had trained, each given as its Hugging Face config.json: GPT-NeoX
# (Pythia-1.4B and 6.9B: parallel residual, rotary on a quarter of each head, biases, untied 50k head) and GPT-2 XL
# (25 heads of 64, 48 layers, learned positions, a 50257 vocabulary padded to 50304). The search's winners on one
# card, held out of every fit; predictions in bench/calls/s35_call_b32.sh before the call.
PYTHIA_14B = "tests/data/hf_configs/pythia-1.4b/config.json"
PYTHIA_69B = "tests/data/hf_configs/pythia-6.9b/config.json"
GPT2_XL = "tests/data/hf_configs/gpt2-xl/config.json"
B32 = [
    AutotuneCase("auto-py14b-1g-c24-s2048-b32", PYTHIA_14B, 1, 24, 2048, 32, hardware=NODE),
    AutotuneCase("auto-py69b-1g-c78-s2048-b16", PYTHIA_69B, 1, 78, 2048, 16, hardware=NODE),
    AutotuneCase("auto-g2xl-1g-c24-s1024-b64", GPT2_XL, 1, 24, 1024, 64, hardware=NODE),
    AutotuneCase("auto-py69b-1g-c40-s2048-b16", PYTHIA_69B, 1, 40, 2048, 16, hardware=NODE),
    AutotuneCase("auto-g2xl-1g-c40-s1024-b128", GPT2_XL, 1, 40, 1024, 128, hardware=NODE),
    AutotuneCase("auto-py14b-1g-c78-s2048-b64", PYTHIA_14B, 1, 78, 2048, 64, hardware=NODE),  # last: FusedAdam builds meanwhile
]

# Session 35, second call: seven more unseen workloads, the search's winners with the partial-RoPE saves fixed
# (ROPE_CAT_LAYOUT): Qwen2-1.5B and Qwen2-7B (GQA, 152k vocabularies, tied and untied), GPT-2 Large, Pythia-2.8B,
# and Llama-3-8B at seq 8192 on one card; held out of every fit, predictions in bench/calls/s35_call_b33.sh.
QWEN2_15B = "tests/data/hf_configs/qwen2-1.5b/config.json"
QWEN2_7B = "tests/data/hf_configs/qwen2-7b/config.json"
GPT2_LARGE = "tests/data/hf_configs/gpt2-large/config.json"
PYTHIA_28B = "tests/data/hf_configs/pythia-2.8b/config.json"
LLAMA3_8B = "tests/data/hf_configs/meta-llama-3-8b/config.json"
B33 = [
    AutotuneCase("auto-qw7b-1g-c40-s2048-b16", QWEN2_7B, 1, 40, 2048, 16, hardware=NODE),
    AutotuneCase("auto-l38bhf-1g-c78-s8192-b8", LLAMA3_8B, 1, 78, 8192, 8, hardware=NODE),
    AutotuneCase("auto-qw15b-1g-c24-s4096-b32", QWEN2_15B, 1, 24, 4096, 32, hardware=NODE),
    AutotuneCase("auto-g2l-1g-c16-s1024-b64", GPT2_LARGE, 1, 16, 1024, 64, hardware=NODE),
    AutotuneCase("auto-py28b-1g-c40-s2048-b32", PYTHIA_28B, 1, 40, 2048, 32, hardware=NODE),
    AutotuneCase("auto-qw15b-1g-c78-s4096-b32", QWEN2_15B, 1, 78, 4096, 32, hardware=NODE),  # last: FusedAdam builds meanwhile
]
# b33's call (S35-3) left its Qwen2-7B full-card plan out by its budget: run alone in S35-4 (bench/calls/s35_call_b34.sh).
B34 = [AutotuneCase("auto-qw7b-1g-c78-s4096-b16", QWEN2_7B, 1, 78, 4096, 16, hardware=NODE)]
# The search's new winner for b33's Qwen2-7B 40 GiB workload once three held logits sets are priced (the b33 winner,
# 39.35 of 40 GiB allocated, is now predicted over its cap): held out, prediction in bench/calls/s35_call_b35.sh.
B35 = [AutotuneCase("auto-qw7b-1g-c40-s2048-b16-s35", QWEN2_7B, 1, 40, 2048, 16, hardware=NODE)]

# Session 36: what a user who keeps to stock DeepSpeed gets (`--executors deepspeed --no-pipeline --no-tp`: plans a
# Hugging Face Trainer can run, report.md says so): the search's winners for four workloads of unseen-by-these-families
# models, held out of every fit; predictions in bench/calls/s36_call_b36.sh before the call. They fall in the
# families with the widest time errors (ZeRO-1/2 and ZeRO-3 with the optimizer offloaded).
STOCK = dict(executors=("deepspeed",), pipeline=False, tensor_parallel=False)
B36 = [
    AutotuneCase("auto-qw15b-1g-c24-s4096-b32-ds", QWEN2_15B, 1, 24, 4096, 32, hardware=NODE, space=STOCK),
    AutotuneCase("auto-g2xl-1g-c16-s1024-b64-ds", GPT2_XL, 1, 16, 1024, 64, hardware=NODE, space=STOCK),
    AutotuneCase("auto-l323b-1g-c24-s4096-b16-ds", "llama3.2-3b", 1, 24, 4096, 16, hardware=NODE, space=STOCK),
    AutotuneCase("auto-mis7b-1g-c78-s4096-b16-ds", MISTRAL_7B, 1, 78, 4096, 16, hardware=NODE, space=STOCK),
]

# The search's new stock winner for b36's Llama 3.2 3B workload once the head's backward holds its weight gradient
# beside the logits (the b36 winner ran out of memory; bench/results/runtime/stock_oom_S36/): held out, prediction
# in bench/calls/s36_call_b37.sh.
B37 = [AutotuneCase("auto-l323b-1g-c24-s4096-b16-ds-s36", "llama3.2-3b", 1, 24, 4096, 16, hardware=NODE, space=STOCK)]

# Session 36: Qwen3 (q/k RMSNorm per head before RoPE, head_dim 128 decoupled from hidden / heads in 0.6B and 4B,
# 152k vocabularies, tied below 8B), a family and a head geometry no run had trained, each from its Hugging Face
# config.json; the search's winners on one card, held out of every fit; predictions in bench/calls/s36_call_b37.sh.
QWEN3_06B = "tests/data/hf_configs/qwen3-0.6b/config.json"
QWEN3_17B = "tests/data/hf_configs/qwen3-1.7b/config.json"
QWEN3_4B = "tests/data/hf_configs/qwen3-4b/config.json"
QWEN3_8B = "tests/data/hf_configs/qwen3-8b/config.json"
B38 = [
    AutotuneCase("auto-q3-06b-1g-c16-s4096-b32", QWEN3_06B, 1, 16, 4096, 32, hardware=NODE),
    AutotuneCase("auto-q3-4b-1g-c40-s4096-b16", QWEN3_4B, 1, 40, 4096, 16, hardware=NODE),
    AutotuneCase("auto-q3-17b-1g-c24-s4096-b32", QWEN3_17B, 1, 24, 4096, 32, hardware=NODE),
    AutotuneCase("auto-q3-8b-1g-c78-s4096-b16", QWEN3_8B, 1, 78, 4096, 16, hardware=NODE),
]

# Session 37: more of what a user who keeps to stock DeepSpeed gets (`--executors deepspeed --no-pipeline --no-tp`),
# for workloads whose families no stock winner had trained: Qwen3-4B at 24 GiB (q/k norms, decoupled heads), Qwen2-7B on
# a full card (152k untied vocabulary), Pythia-2.8B at 24 GiB (parallel residual, partial RoPE); Llama-3-8B at 40 GiB has none (host memory).
# The search's winners, held out of every fit; predictions in bench/calls/s37_call_b39.sh before the call.
B39 = [
    AutotuneCase("auto-q3-4b-1g-c24-s4096-b16-ds", QWEN3_4B, 1, 24, 4096, 16, hardware=NODE, space=STOCK),
    AutotuneCase("auto-py28b-1g-c24-s2048-b32-ds", PYTHIA_28B, 1, 24, 2048, 32, hardware=NODE, space=STOCK),
    AutotuneCase("auto-qw7b-1g-c78-s4096-b16-ds", QWEN2_7B, 1, 78, 4096, 16, hardware=NODE, space=STOCK),
]

# Session 37: Phi-3 (model_type phi3: q|k|v and gate|up stored fused, 32 heads of 96, a 32064 vocabulary padded to
# 32128, a 2047-token sliding window, so sequences up to 2047), a family no run had trained, from its Hugging Face
# config.json; the search's winners on one card (mist_ds's executors and stock DeepSpeed), held out of every fit;
# predictions in bench/calls/s37_call_b40.sh before the call.
PHI3_MINI = "tests/data/hf_configs/phi-3-mini-4k/config.json"
B40 = [
    AutotuneCase("auto-phi3m-1g-c24-s2047-b32", PHI3_MINI, 1, 24, 2047, 32, hardware=NODE),
    AutotuneCase("auto-phi3m-1g-c24-s2047-b32-ds", PHI3_MINI, 1, 24, 2047, 32, hardware=NODE, space=STOCK),
    AutotuneCase("auto-phi3m-1g-c78-s2047-b32", PHI3_MINI, 1, 78, 2047, 32, hardware=NODE),
]

# Session 38: ZeRO-3 with the optimizer offloaded once its backward's coupling is priced (cost/stage_time.py
# coupling_s: the gradient compute and the 16-bit round trip overlap less the closer their lengths). Hand-set plans
# whose compute and round trip are near balance (the term's largest share), of three models no such plan had trained
# at seq 4096 on one card (llama-2.7b, Llama 3.2 3B, llama-7b): no stock winner of an unseen workload that fits the
# node's host memory is such a plan (the search picks ZeRO-1 offload or ZeRO-3 without it). Held out of every fit
# (its fit: phased plans of bench/results/runtime/phases_S24, S25, S28); predictions in bench/calls/s38_call_b41.sh.
B41 = [
    _case("l27-1g-c40-s4096-b8-z3-off05-mb2-rc32-blk", 1, 40, 4096, 8, 2, 3, offload_optimizer=0.5,
          recompute=32, note="compute and round trip near balance", **BLK),
    _case("l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk", 1, 40, 4096, 16, 2, 3, offload_optimizer=1.0,
          recompute=28, note="compute and round trip near balance, ratio 1", **BLK),
    _case("l7-1g-c78-s4096-b16-z3-off05-mb2-rc32-blk", 1, 78, 4096, 16, 2, 3, offload_optimizer=0.5,
          recompute=32, note="compute and round trip near balance, a 7B model", **BLK),
]

# Session 39 (no GPU lent): today's search picks mist_ds's own engine at dp 2 for every 2-GPU plan-quality workload,
# a kind whose 6 scored runs (the session-6 engine, 2026-11-30) ran 12.4% off (median): the search's winners of the
# five Llama ones, for the first 2-GPU machine lent, one batch a machine call, each winner beside the stock plan that
# ran for its workload in plan quality (bench/calls/s39_call_b42_2g.sh, its predictions in the header before any
# call). Held out of every fit. Generated (and frozen) under session 39's ranking: since session 40's per-kind tie
# tolerance (mist_ds/api.py time_tolerance) llama-7b at 78 GiB and Llama-3-8B at s8192 pick stock plans, so these two
# are mistpipe's fastest predicted plans there, no longer the winners; their runs set the tolerance that decided it.
B42A = [
    AutotuneCase("auto-l7-2g-c78-s4096-b32", "llama-7b", 2, 78, 4096, 32),
    AutotuneCase("auto-l27-2g-c24-s4096-b32", "llama-2.7b", 2, 24, 4096, 32),
]
B42B = [
    AutotuneCase("auto-l7-2g-c40-s4096-b32", "llama-7b", 2, 40, 4096, 32),
    AutotuneCase("auto-l38b-2g-c78-s8192-b16", "llama3-8b", 2, 78, 8192, 16),
]
B42C = [AutotuneCase("auto-l13-2g-c78-s4096-b32", "llama-13b", 2, 78, 4096, 32)]

# Session 39: the 1-GPU plan-quality workload whose winner changed (llama-2.7b on one 78 GiB card: mistpipe ZeRO-0
# mb 2 now, the stock ZeRO-0 mb 2 plan that ran 2.374 s/iter before), for the next 1-GPU call, beside that stock plan
# (bench/calls/s39_call_b43_1g.sh, predictions in its header before the call). Held out of every fit.
B43 = [AutotuneCase("auto-l27-1g-c78-s4096-b16", "llama-2.7b", 1, 78, 4096, 16, hardware=NODE)]

# Session 41: no case had trained beyond seq 8192. The search's winners of four long-context workloads on one card
# (seq 16384; Llama 3.2 1B / 3B and Qwen3 1.7B / 4B, GQA), where the profile's attention and activation terms
# extrapolate past the lengths they were measured at (bench/calls/s41_call_b44_1g.sh, predictions in its header
# before the call). Held out of every fit.
B44 = [
    AutotuneCase("auto-l321b-1g-c40-s16384-b8", "llama3.2-1b", 1, 40, 16384, 8, hardware=NODE),
    AutotuneCase("auto-l323b-1g-c78-s16384-b8", "llama3.2-3b", 1, 78, 16384, 8, hardware=NODE),
    AutotuneCase("auto-q3-17b-1g-c40-s16384-b16", QWEN3_17B, 1, 40, 16384, 16, hardware=NODE),
    AutotuneCase("auto-q3-4b-1g-c78-s16384-b8", QWEN3_4B, 1, 78, 16384, 8, hardware=NODE),
]
# The stock DeepSpeed winners of the two workloads mistpipe won there (predicted 6.7% / 5.4% slower than it), in the
# same call as the first repeat (bench/calls/s41_call_b44b_1g.sh), and Llama 3.2 1B at seq 32768. Held out.
B44B = [
    AutotuneCase("auto-l323b-1g-c78-s16384-b8-ds", "llama3.2-3b", 1, 78, 16384, 8, hardware=NODE, space=STOCK),
    AutotuneCase("auto-q3-4b-1g-c78-s16384-b8-ds", QWEN3_4B, 1, 78, 16384, 8, hardware=NODE, space=STOCK),
    AutotuneCase("auto-l321b-1g-c78-s32768-b4", "llama3.2-1b", 1, 78, 32768, 4, hardware=NODE),
]

# Session 41: stock weight offload with the optimizer on the GPU ran 2.2x its prediction (auto-q3-4b-1g-c78-s16384-b8-ds;
# config/plan_kind.py optimizer_text names the write-back suspected). Twins that differ only in the optimizer's place
# (on the GPU, half, all offloaded), Llama 3.2 1B at seq 4096, and the new stock winner of that workload (the
# optimizer offloaded). Run with a phased run of the slow plan (bench/calls/s41_call_b45_1g.sh). Held out.
W1 = dict(offload_weights=1.0)
B45 = [
    _case("l321b-1g-c78-s4096-b16-z3-w1-mb4", 1, 78, 4096, 16, 4, 3, note="optimizer on the GPU", **W1),
    _case("l321b-1g-c78-s4096-b16-z3-w1-off05-mb4", 1, 78, 4096, 16, 4, 3, offload_optimizer=0.5,
          note="half the optimizer on the GPU", **W1),
    _case("l321b-1g-c78-s4096-b16-z3-w1-off1-mb4", 1, 78, 4096, 16, 4, 3, offload_optimizer=1.0,
          note="the optimizer offloaded", **W1),
    AutotuneCase("auto-q3-4b-1g-c78-s16384-b8-ds-s41", QWEN3_4B, 1, 78, 16384, 8, hardware=NODE, space=STOCK),
]

# Batch 46 (1x H100, session 43): the first H100 training runs. `make tune`'s default profile, h100-sxm-80gb,
# has no run-derived terms (it prices no host-thread time); these are the search's winners on it as a user of
# the default gets them, 1 GPU, to measure that profile and to calibrate it from runs that are its own.
H100 = "h100-sxm-80gb"
B46 = [
    AutotuneCase("h100-auto-l321b-1g-c78-s4096-b16", "llama3.2-1b", 1, 78, 4096, 16, hardware=H100),
    AutotuneCase("h100-auto-l27-1g-c78-s4096-b16", "llama-2.7b", 1, 78, 4096, 16, hardware=H100),
    AutotuneCase("h100-auto-g13-1g-c40-s2048-b16", "gpt-1.3b", 1, 40, 2048, 16, hardware=H100),
    AutotuneCase("h100-auto-l13b-1g-c24-s4096-b16", "llama-1.3b", 1, 24, 4096, 16, hardware=H100),
    AutotuneCase("h100-auto-l323b-1g-c40-s4096-b16", "llama3.2-3b", 1, 40, 4096, 16, hardware=H100),
    AutotuneCase("h100-auto-l321b-1g-c24-s4096-b16-ds", "llama3.2-1b", 1, 24, 4096, 16, hardware=H100, space=STOCK),
]
# Batch 47 (1x H100, session 43): six more winners on h100-sxm-80gb, a held-out check of a candidate calibration
# chosen after b46 (the run-derived terms of the same node kind, h200-1gpu-node; bench/calls/s43_call_b47_h100.sh).
B47 = [
    AutotuneCase("h100-auto-l13b-1g-c40-s2048-b16", "llama-1.3b", 1, 40, 2048, 16, hardware=H100),
    AutotuneCase("h100-auto-g27-1g-c40-s2048-b16", "gpt-2.7b", 1, 40, 2048, 16, hardware=H100),
    AutotuneCase("h100-auto-l323b-1g-c78-s4096-b16", "llama3.2-3b", 1, 78, 4096, 16, hardware=H100),
    AutotuneCase("h100-auto-l27-1g-c24-s4096-b16", "llama-2.7b", 1, 24, 4096, 16, hardware=H100),
    AutotuneCase("h100-auto-g13-1g-c24-s2048-b32", "gpt-1.3b", 1, 24, 2048, 32, hardware=H100),
    AutotuneCase("h100-auto-l27-1g-c40-s4096-b16-ds", "llama-2.7b", 1, 40, 4096, 16, hardware=H100, space=STOCK),
]

# Batch 48 (1x H100, session 44): batch b45's twins (Llama 3.2 1B, ZeRO-3 weights offloaded, the optimizer on the GPU,
# half offloaded, all offloaded) on the H100 node, planned on h100-sxm-80gb: does the write-back of each GPU sub-group's
# fp32 update through a pageable host tensor (cost/work.py pageable_d2h_bytes) slow the step on a second GPU and node
# as it did on 2x H200? Run with a profile of the node's host copies and CPU Adam (bench/calls/s44_call_b48_h100.sh).
B48 = [
    replace(c, name=f"h100-{c.name}") for c in B45 if isinstance(c, Case)
]

# Batch 49 (1x H100, session 46): the search's winners planned on h100-1gpu-node (the node's own profile, shipped in
# session 45 with one host term and the memory terms fitted on b46 + b47), for workloads and families no H100 run had
# trained (Qwen3, Phi-3, seq 8192, a GPT at 24 GiB), mist_ds's executors and stock DeepSpeed: the held-out check of
# that fit. Predictions in bench/calls/s46_call_b49_h100.sh before the call.
H100N = "h100-1gpu-node"
B49 = [
    AutotuneCase("h100n-auto-q3-17b-1g-c40-s4096-b16", QWEN3_17B, 1, 40, 4096, 16, hardware=H100N),
    AutotuneCase("h100n-auto-q3-4b-1g-c40-s4096-b16", QWEN3_4B, 1, 40, 4096, 16, hardware=H100N),
    AutotuneCase("h100n-auto-phi3m-1g-c78-s2047-b32", PHI3_MINI, 1, 78, 2047, 32, hardware=H100N),
    AutotuneCase("h100n-auto-l321b-1g-c40-s8192-b8", "llama3.2-1b", 1, 40, 8192, 8, hardware=H100N),
    AutotuneCase("h100n-auto-g27-1g-c24-s2048-b16", "gpt-2.7b", 1, 24, 2048, 16, hardware=H100N),
]
# Its stock DeepSpeed winners (one call's budget cannot hold all seven; same call script).
B49B = [
    AutotuneCase("h100n-auto-q3-4b-1g-c24-s4096-b16-ds", QWEN3_4B, 1, 24, 4096, 16, hardware=H100N, space=STOCK),
    AutotuneCase("h100n-auto-l323b-1g-c24-s4096-b16-ds", "llama3.2-3b", 1, 24, 4096, 16, hardware=H100N,
                 space=STOCK),
]

# Batch 50 (1x H100, session 46): the held-out check of h100-1gpu-node's pageable write-back rate (3.909 GB/s a rank,
# carried over from h200-1gpu-node after b49b's two stock ZeRO-3 optimizer-offload winners ran 22-29% slower than
# priced at the pinned rate). With the write-back priced, the search's stock winners of b49b's two workloads are other
# plans (-s46: Qwen3-4B ZeRO-3 with the weights offloaded, Llama 3.2 3B ZeRO-1 offload): do they run faster than b49b's,
# as predicted? And b41's first two ZeRO-3 plans with
# the optimizer offloaded and the weights on the GPU (ratio 0.5 and 1; run on the 1-GPU H200 node in session 38),
# planned on the profile with that rate. Predictions in bench/calls/s46_call_b50_h100.sh before the call.
B50 = [
    AutotuneCase("h100n-auto-q3-4b-1g-c24-s4096-b16-ds-s46", QWEN3_4B, 1, 24, 4096, 16, hardware=H100N, space=STOCK),
    AutotuneCase("h100n-auto-l323b-1g-c24-s4096-b16-ds-s46", "llama3.2-3b", 1, 24, 4096, 16, hardware=H100N,
                 space=STOCK),
    *(replace(c, name=f"h100-{c.name}") for c in reversed(B41[:2])),
]

# The ratio-1 check b50 had no budget left for, on a smaller model: Llama 3.2 1B, ZeRO-3, every optimizer state offloaded,
# the weights on the GPU (its whole 16-bit partition written back from pageable fp32 masters every step), held out
# (bench/calls/s46_call_b50b_h100.sh, prediction in its header before the call).
B50B = [replace(_case("l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk", 1, 40, 4096, 16, 4, 3, offload_optimizer=1.0,
                      recompute=16, **BLK), name="h100-l321b-1g-c40-s4096-b16-z3-off1-mb4-rc16-blk")]

# Batch 51 (1x H100, session 47): with the host step of mistpipe's cpu_adam path measured on the H100 node (the first
# four profiler runs' means: Adam + cast 1.40x Adam alone, 1.42x slower beside the late gradients' d2h;
# profile/cpu_adam.py step_beside_d2h, bench/accuracy/cpu_step_profile.py), the search keeps b49's knobs for three
# workloads but prices the GPU swap path faster than the host's Adam they ran with (g27 -11.1% -> -3.2%, phi3m -4.4%
# -> -2.6%, q3-4b -3.9% -> +1.1% re-predicted): the same knobs on the swap path, held out (the first swap-path runs on
# an H100). Predictions in bench/calls/s47_call_b51_h100.sh.
B51 = [replace(c, name=f"{c.name}-s47") for c in B49 if c.name in (
    "h100n-auto-g27-1g-c24-s2048-b16", "h100n-auto-phi3m-1g-c78-s2047-b32", "h100n-auto-q3-4b-1g-c40-s4096-b16")]

# Batch 52 (1x H100, session 48): the search's winners on h100-1gpu-node (its host step medians of session 47) for six
# workloads no H100 run had trained, five of them mistpipe plans on the GPU swap path (priced within 0.5% of host Adam
# here, where b51's swap runs beat their host-Adam twins by 1-8%) and one on the host's Adam (Llama 3.2 3B at 24 GiB):
# held out of every fit. Planned before the call that also re-measures the node's h2d-beside-d2h interference (a swap
# trace of b51's GPT-2.7B ran both directions at ~51 GB/s, where the profile's one measurement gives h2d 1.48x slower).
# Predictions in bench/calls/s48_call_b52_h100.sh before the call.
B52 = [
    AutotuneCase("h100n-auto-q3-17b-1g-c24-s4096-b16", QWEN3_17B, 1, 24, 4096, 16, hardware=H100N),
    AutotuneCase("h100n-auto-l27-1g-c24-s2048-b16", "llama-2.7b", 1, 24, 2048, 16, hardware=H100N),
    AutotuneCase("h100n-auto-l321b-1g-c16-s4096-b16", "llama3.2-1b", 1, 16, 4096, 16, hardware=H100N),
    AutotuneCase("h100n-auto-l323b-1g-c24-s4096-b16", "llama3.2-3b", 1, 24, 4096, 16, hardware=H100N),
    AutotuneCase("h100n-auto-phi3m-1g-c40-s2047-b32", PHI3_MINI, 1, 40, 2047, 32, hardware=H100N),
    AutotuneCase("h100n-auto-g13-1g-c16-s2048-b32", "gpt-1.3b", 1, 16, 2048, 32, hardware=H100N),
]

# Batch 53 (1x H100, session 48): with h100-1gpu-node's interference the median of four profiler runs (h2d beside d2h
# 1.236, was one run's 1.478; bench/accuracy/interference_profile.py) the swap step is priced 10% under host Adam
# (877 vs 973 ms) for Llama 3.2 3B at 24 GiB, and the search's winner there is another plan (every optimizer state
# swapped, 14 layers recomputed, predicted 3.819 s/iter) than b52's host-Adam one (3.897 predicted then, 4.012
# measured): held out, does it run faster?
# Prediction in bench/calls/s48_call_b53_h100.sh before the call.
B53 = [replace(c, name=f"{c.name}-s48") for c in B52 if c.name == "h100n-auto-l323b-1g-c24-s4096-b16"]

# Batch 54 (1x H200 node, session 53): with h200-1gpu-node's host step measured (S53: Adam + cast 1.50x Adam alone,
# 1.31x slower beside the late gradients' d2h; CPU Adam 4.04 G params/s at 16 threads) and its interference the median
# of four profiler runs (h2d beside d2h 1.254, was one run's 1.100), the search's winners on that node for six workloads
# no H200-node run had trained (all on the GPU swap path), held out of every fit; cheapest first. Predictions in
# bench/calls/s53_call_b54_h200_node.sh before the call.
B54 = [
    AutotuneCase("auto-qw15b-1g-c40-s4096-b32", QWEN2_15B, 1, 40, 4096, 32, hardware=NODE),
    AutotuneCase("auto-l321b-1g-c24-s8192-b16", "llama3.2-1b", 1, 24, 8192, 16, hardware=NODE),
    AutotuneCase("auto-py28b-1g-c24-s2048-b32", PYTHIA_28B, 1, 24, 2048, 32, hardware=NODE),
    AutotuneCase("auto-phi3m-1g-c40-s2047-b32", PHI3_MINI, 1, 40, 2047, 32, hardware=NODE),
    AutotuneCase("auto-q3-4b-1g-c24-s4096-b16", QWEN3_4B, 1, 24, 4096, 16, hardware=NODE),
]
# Its sixth workload, which S53-2's budget could not hold (same prediction header; bench/calls/s53_call_b54b.sh).
B54B = [AutotuneCase("auto-q3-8b-1g-c78-s8192-b8", QWEN3_8B, 1, 78, 8192, 8, hardware=NODE)]
# S53-3's budget left room for three more held-out workloads on the node: a search winner and two stock DeepSpeed
# winners (space STOCK), planned on the profile of S53-1. Predictions in bench/calls/s53_call_b54c.sh before the call.
B54C = [
    AutotuneCase("auto-q3-17b-1g-c24-s4096-b16", QWEN3_17B, 1, 24, 4096, 16, hardware=NODE),
    AutotuneCase("auto-phi3m-1g-c40-s2047-b32-ds", PHI3_MINI, 1, 40, 2047, 32, hardware=NODE, space=STOCK),
    AutotuneCase("auto-q3-17b-1g-c24-s4096-b16-ds", QWEN3_17B, 1, 24, 4096, 16, hardware=NODE, space=STOCK),
]

# Batch 55 (1x H200 node), planned in session 53 for a later call: the search's winners on h200-1gpu-node (the host step
# and interference of S53-1) for workloads no H200-node run had trained, held out of every fit; cheapest first.
# Predictions in bench/calls/s53_next_b55_h200_node.sh, committed before any run.
B55 = [
    AutotuneCase("auto-qw05b-1g-c24-s4096-b64", QWEN2_05B, 1, 24, 4096, 64, hardware=NODE),
    AutotuneCase("auto-g2l-1g-c40-s1024-b128", GPT2_LARGE, 1, 40, 1024, 128, hardware=NODE),
    AutotuneCase("auto-l27-1g-c40-s2048-b32", "llama-2.7b", 1, 40, 2048, 32, hardware=NODE),
    AutotuneCase("auto-q3-4b-1g-c78-s4096-b16", QWEN3_4B, 1, 78, 4096, 16, hardware=NODE),
    AutotuneCase("auto-mis7b-1g-c40-s2048-b16", MISTRAL_7B, 1, 40, 2048, 16, hardware=NODE),
]
# Its five workloads on the 1-GPU H100 node (planned in session 54 on h100-1gpu-node, for a call that lands on an H100
# instead of the H200 node; predictions in bench/calls/s54_b55h_h100_node.sh before any run). Held out of every fit.
B55H = [replace(c, name=f"h100n-{c.name}", hardware=H100N) for c in B55]

# Batch 56h (1x H100 node, session 56): the search's winners on h100-1gpu-node for four 7-8B workloads at the 78 GiB cap
# that only H200 runs had trained (three with untied 128-152k-token heads, whose mistpipe runs on the H200 node left
# 5-6 GiB above the predicted allocated peak reserved); held out of every fit. Predictions in
# bench/calls/s56_b56h_h100_node.sh, committed before any run.
B56H = [
    AutotuneCase("h100n-auto-l7-1g-c78-s4096-b16", "llama-7b", 1, 78, 4096, 16, hardware=H100N),
    AutotuneCase("h100n-auto-l38b-1g-c78-s4096-b16", "llama3-8b", 1, 78, 4096, 16, hardware=H100N),
    AutotuneCase("h100n-auto-qw7b-1g-c78-s4096-b16", QWEN2_7B, 1, 78, 4096, 16, hardware=H100N),
]
# Its fourth workload, which S56-3's budget could not hold (same prediction header; it ran in S56-5).
B56HB = [AutotuneCase("h100n-auto-q3-8b-1g-c78-s4096-b16", QWEN3_8B, 1, 78, 4096, 16, hardware=H100N)]

# Batch 58 (1x H100 node, session 58): with the last stage's logits released after each backward (session 57) and the
# LM head's weight gradient added in its GEMM (session 58), both measured in S58-1..3 (allocated within +0.1..+0.7% of
# the prediction, 1.8-4.1 GiB under the same plans' earlier runs), the search re-wins two workloads by spending that
# memory: Llama 3.2 3B at 24 GiB (predicted 3.658 s/iter vs 3.863 for the committed winner, -5.3%) and Llama 3.2 1B at
# seq 8192 and 40 GiB (1.280 vs 1.338, -4.4%). Held out of every fit; predictions in bench/calls/s58_b58_h100_node.sh
# before any run.
B58 = [replace(c, name=f"{c.name}-s58") for c in (*B52, *B49) if c.name in (
    "h100n-auto-l323b-1g-c24-s4096-b16", "h100n-auto-l321b-1g-c40-s8192-b8")]

# Batch 58b (1x H100 node), planned in session 58 for a later call: the other three H100-node workloads the search
# re-wins with that memory (Qwen3-1.7B at 40 and 24 GiB, -2.6% / -2.5% predicted against the committed winners; Qwen2-0.5B
# at 24 GiB, -1.5%). Held out of every fit; predictions in bench/calls/s58_next_b58b_h100_node.sh before any run.
B58B = [replace(c, name=f"{c.name}-s58") for c in (*B49, *B52, *B55H) if c.name in (
    "h100n-auto-q3-17b-1g-c40-s4096-b16", "h100n-auto-q3-17b-1g-c24-s4096-b16", "h100n-auto-qw05b-1g-c24-s4096-b64")]

# Batch 59 (1x H100 node), planned in session 59 for a later call: the search's winners with the fused head loss
# (SearchSpace.fused_head_loss as session 59 defined it: every mistpipe plan held one chunk instead of the logits;
# since session 60 the search weighs both heads per layout, and picks the logits path for both workloads)
# for the two 24 GiB workloads where it changes the plan: Qwen3-1.7B keeps every weight on the GPU (2 recomputed;
# predicted 2.039 s/iter, where b58b's streamed winner was predicted 2.018 and ran 2.387) and Llama 3.2 3B recomputes
# 7 blocks instead of 8 (3.663 vs 3.658). Held out of every fit; predictions in bench/calls/s59_next_b59_h100_node.sh
# before any run.
B59 = [replace(c, name=f"{c.name}-fhl", space={**c.space, "fused_head_loss": True}) for c in B52 if c.name in (
    "h100n-auto-q3-17b-1g-c24-s4096-b16", "h100n-auto-l323b-1g-c24-s4096-b16")]

# Batch 60 (1x H100 node), planned in session 60 for a later call: does the search's weighing of the fused head loss
# (SearchSpace.fused_head_loss, on by default since session 60) pick the faster plan? Llama 3.2 3B at 16 GiB is the
# H100-node workload where it changes the winner: at seq 4096 the fused head lets a micro-batch of 2 fit with every
# weight streamed (predicted 4.329 s/iter) where the logits path keeps the weights and runs micro-batch 1 (4.471); at
# seq 8192 the layout stays and only the head changes (4.580 vs 4.606). Each workload's two winners, with and without
# the weighing, run back to back; held out of every fit; predictions in bench/calls/s60_next_b60_h100_node.sh.
B60 = [AutotuneCase(f"h100n-auto-l323b-1g-c16-s{seq}-b{gb}{suffix}", "llama3.2-3b", 1, 16, seq, gb, hardware=H100N,
                    space=space)
       for seq, gb in ((4096, 16), (8192, 8)) for suffix, space in (("", {}), ("-nofhl", {"fused_head_loss": False}))]

# Batch 66 (1x H100 node), session 66: with ZeRO-3's write-back cast on the device (config/writeback.py, the runtime's
# default since this session's A/B, bench/results/runtime/writeback_ab_S66/), stock ZeRO-3 with every weight offloaded
# loses its 4-bytes-an-element pageable write-back, and the search restricted to stock DeepSpeed re-wins llama-7b at
# 78 GiB with weights offloaded and 0.375 of the optimizer (mb 4, 30 recomputed; predicted 8.011 s/iter) where it had
# priced the DeepSpeed write-back's winner (optimizer 0.5, whole-block fetch; 9.322, now the second) first. Both run
# back to back; held out of every fit; predictions in bench/calls/s66_b66_h100_node.sh before the call.
B66 = [AutotuneCase("h100n-auto-l7-1g-c78-s4096-b16-ds", "llama-7b", 1, 78, 4096, 16, hardware=H100N, space=STOCK),
       replace(_case("l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk", 1, 78, 4096, 16, 4, 3, offload_optimizer=0.5,
                     recompute=30, **LIVE, **BLK), name="h100n-l7-1g-c78-s4096-b16-z3-off05-mb4-rc30-live-blk")]

# Batch 69 (session 69): the held-out check of counting the holes of stock stages that offload the optimizer in fp32
# vocabulary matrices, not 16-bit partitions (cost/reserved.py VOCAB_UNIT_CLASSES, chosen and fitted on the committed
# runs): the stock search's winners for workloads no run had trained where the two units predict reserved memory
# 4-12% apart below the cap, on the 1-GPU H200 node (B69) and, for a call that lands there, the H100 node (B69H).
# Predictions in bench/calls/s69_b69_reserved.sh and s69_b69h_compute.sh before any run. No H200 came in session 69:
# B69H ran on the H100 node (call S69-1), and B69's two ZeRO-3 plans there too (S69-3, scored on that node's profile);
# B69's Llama 3.2 1B plan has not run (B69H's twin is the same knobs).
PHI35_MINI = "tests/data/hf_configs/phi-3.5-mini/config.json"
B69 = [
    AutotuneCase("auto-l321b-1g-c16-s2048-b32-ds", "llama3.2-1b", 1, 16, 2048, 32, hardware=NODE, space=STOCK),
    AutotuneCase("auto-l27-1g-c24-s4096-b16-ds", "llama-2.7b", 1, 24, 4096, 16, hardware=NODE, space=STOCK),
    AutotuneCase("auto-phi35m-1g-c24-s4096-b16-ds", PHI35_MINI, 1, 24, 4096, 16, hardware=NODE, space=STOCK),
]
B69H = [
    AutotuneCase("h100n-auto-l321b-1g-c16-s2048-b32-ds", "llama3.2-1b", 1, 16, 2048, 32, hardware=H100N, space=STOCK),
    AutotuneCase("h100n-auto-qw15b-1g-c24-s4096-b16-ds", QWEN2_15B, 1, 24, 4096, 16, hardware=H100N, space=STOCK),
    AutotuneCase("h100n-auto-q3-17b-1g-c24-s2048-b32-ds", QWEN3_17B, 1, 24, 2048, 32, hardware=H100N, space=STOCK),
]

# Session 70: the held-out check of the H100 node's engine host terms (the ZeRO-0 step's per-tensor walk,
# host_step_tensor_overhead_s, and the ZeRO-0/1/2 per-micro-batch term refitted beside it; config/hardware.py) on
# workloads no run had trained, with many parameter tensors (GPT-2 XL: 48 blocks of 12; Pythia: biases): the stock
# winners (ZeRO-1, optimizer on the GPU: its step's own per-tensor norms are not priced) and, for two of them, the
# best ZeRO-0 plan (the term's held-out check, and the pair's order). Predictions in
# bench/calls/s70_b70h_engine_terms.sh before any run.
ZERO0 = dict(STOCK, zero_stages=(0,))
B70H = [
    AutotuneCase("h100n-auto-g2xl-1g-c78-s1024-b64-ds", GPT2_XL, 1, 78, 1024, 64, hardware=H100N, space=STOCK),
    AutotuneCase("h100n-z0-g2xl-1g-c78-s1024-b64-ds", GPT2_XL, 1, 78, 1024, 64, hardware=H100N, space=ZERO0),
    AutotuneCase("h100n-auto-py14b-1g-c78-s2048-b32-ds", PYTHIA_14B, 1, 78, 2048, 32, hardware=H100N, space=STOCK),
    AutotuneCase("h100n-z0-py14b-1g-c78-s2048-b32-ds", PYTHIA_14B, 1, 78, 2048, 32, hardware=H100N, space=ZERO0),
    AutotuneCase("h100n-auto-qw05b-1g-c40-s4096-b32-ds", QWEN2_05B, 1, 40, 4096, 32, hardware=H100N, space=STOCK),
]

# Session 72: does ZeRO-1/2's step walk its parameter tensors as the ZeRO-0 step does (stage_1_and_2.py
# get_grad_norm_direct: one norm per tensor; session 71 measured 109 us per tensor on GPT-2 XL's ZeRO-1 step, not
# priced)? The b70h workloads' missing twins, each run unphased and phased beside the b70h plans
# (bench/calls/s72_zero12_step_walk.sh; predictions there before any run): Qwen2-0.5B's best ZeRO-0 plan, and the
# best ZeRO-2 plans of Pythia-1.4B and GPT-2 XL.
ZERO2 = dict(STOCK, zero_stages=(2,))
B72H = [
    AutotuneCase("h100n-z0-qw05b-1g-c40-s4096-b32-ds", QWEN2_05B, 1, 40, 4096, 32, hardware=H100N, space=ZERO0),
    AutotuneCase("h100n-z2-py14b-1g-c78-s2048-b32-ds", PYTHIA_14B, 1, 78, 2048, 32, hardware=H100N, space=ZERO2),
    AutotuneCase("h100n-z2-g2xl-1g-c78-s1024-b64-ds", GPT2_XL, 1, 78, 1024, 64, hardware=H100N, space=ZERO2),
]

# In-sample runs: the shipped h200 profile's run-derived terms were fitted on these runs alone
# (python -m mist_ds.calibrate; profiling/profiles/h200.json provenance names them): every 1-GPU run
# of batches b3 and b4, and of each 2-GPU family with two or more runs the first by name. Every
# other run is held out of the fit.
CALIBRATED_TERMS = ("host_microbatch_overhead_s", "host_layer_overhead_s", "host_launch_overhead_s",
                    "host_step_overhead_s",
                    "zero3_fetch_overhead_s", "zero3_param_overhead_s", "pageable_h2d_bandwidth_gbps",
                    "allocator_overhead_fraction", "host_process_base_bytes")
IN_SAMPLE = frozenset({
    *(c.name for c in B3), *(c.name for c in B4 if c.name != "l13b-1g-c40-s2048-z1-mb4-act24"),  # not run
    "l7-2g-c78-pp2-15x17-z1-rc4x8", "l7-2g-c78-z3-mb1-rc0", "l7-2g-c40-b4-z3-off05-rc32",
})


def _marked(batch: list[Case | AutotuneCase]) -> list[Case | AutotuneCase]:
    return [replace(c, in_sample=CALIBRATED_TERMS) if c.name in IN_SAMPLE else c for c in batch]


BATCHES: dict[str, list[Case | AutotuneCase]] = {name: _marked(batch) for name, batch in {
    "b1-zero3-tp-offload": B1, "b2-zero3-offload": B2, "b3-1gpu-pairs": B3, "b4-1gpu-offload": B4,
    "b5-pipeline-tp": B5, "b6-llama27-40g": B6, "b7-autotune": B7, "b8-1gpu-offload": B8,
    "b9-13b-offload": B9, "b10-host-memory": B10, "b11-issue18": B11, "b12-1gpu-mistpipe": B12,
    "b13-1gpu-live": B13, "b14-2gpu-live": B14, "b15-1gpu-block": B15,
    "b16-2gpu-block": B16, "b17-1gpu-chain": B17, "b18-1gpu-writeback": B18,
    "b19-1gpu-llama32-3b": B19, "b20-1gpu-llama32-1b": B20, "b21-1gpu-logits": B21, "b22-1gpu-recompute": B22,
    "b23-1gpu-new-workloads": B23, "b24-1gpu-held-out": B24,
    "b25-1gpu-held-out": B25, "b26-1gpu-held-out": B26,
    "b27-1gpu-held-out": B27, "b28-1gpu-held-out": B28, "b29-1gpu-held-out": B29,
    "b30-1gpu-new-families": B30, "b31-1gpu-held-out": B31, "b32-1gpu-new-families": B32,
    "b33-1gpu-new-families": B33, "b34-1gpu-new-families": B34,
    "b35-1gpu-rewon": B35, "b36-1gpu-stock": B36, "b37-1gpu-rewon": B37, "b38-1gpu-qwen3": B38,
    "b39-1gpu-stock": B39, "b40-1gpu-phi3": B40, "b41-1gpu-coupling": B41, "b42a-2gpu-mistpipe": B42A,
    "b42b-2gpu-mistpipe": B42B, "b42c-2gpu-mistpipe": B42C, "b43-1gpu-refresh": B43,
    "b44-1gpu-long-context": B44, "b44b-1gpu-long-context": B44B,
    "b45-1gpu-weight-offload-optimizer": B45, "b46-1gpu-h100": B46, "b47-1gpu-h100": B47,
    "b48-1gpu-h100-writeback": B48, "b49-1gpu-h100-node": B49,
    "b49b-1gpu-h100-node-stock": B49B,
    "b50-1gpu-h100-writeback": B50, "b50b-1gpu-h100-writeback": B50B, "b51-1gpu-h100-swap": B51,
    "b52-1gpu-h100-node": B52, "b53-1gpu-h100-interference": B53,
    "b54-1gpu-h200-node": B54, "b54b-1gpu-h200-node": B54B,
    "b54c-1gpu-h200-node": B54C, "b55-1gpu-h200-node": B55,
    "b55h-1gpu-h100-node": B55H, "b56h-1gpu-h100-node": B56H,
    "b56hb-1gpu-h100-node": B56HB, "b58-1gpu-h100-node": B58,
    "b58b-1gpu-h100-node": B58B, "b59-1gpu-h100-node-fused-head": B59,
    "b60-1gpu-h100-node-head-weighed": B60, "b66-1gpu-h100-node-writeback-cast": B66,
    "b69-1gpu-h200-node-reserved": B69, "b69h-1gpu-h100-node-reserved": B69H,
    "b70h-1gpu-h100-node-engine-terms": B70H,
    "b72h-1gpu-h100-node-zero12-step-walk": B72H,
}.items()}
CASES: dict[str, Case | AutotuneCase] = {c.name: c for batch in BATCHES.values() for c in batch}


def family(knobs: Knobs) -> str:
    """The strategy family a plan belongs to (mist_ds/config/plan_kind.py strategy_family of its knobs)."""
    return strategy_family(executor=knobs.executor, offload_weights=knobs.offload_weights,
                           offload_optimizer=knobs.offload_optimizer, zero_stage=knobs.zero,
                           offloads_activations=any(knobs.act_offload), tp=knobs.tp, pp=knobs.pp)


def workload(knobs: Knobs) -> str:
    """Plans of one workload answer the same request: model, GPUs, cap, sequence, global batch."""
    cap = "full" if knobs.cap_gib is None else f"{knobs.cap_gib:g}GiB"
    return f"{knobs.model}/{knobs.num_gpus}gpu/{cap}/s{knobs.seq_len}/b{knobs.global_batch}"
