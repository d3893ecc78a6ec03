"""The kernel set the cost model charges: which implementation runs the block's element-wise ops and
the loss (RunReport.kernels' keys norm, activation, rope, loss; attention stays the plan's).

Each implementation has its own element-wise passes (cost/layer_time.py _elementwise), saved tensors
(cost/activations.py _mlp_saves), loss traffic (layer_time.LOSS_TRAFFIC) and loss working
memory (activations.logits_bytes). `KernelSet` names one set; `KernelChoice` the set per tensor-parallel
degree, since the runtime's default loss depends on tp (config/kernel_picks.py loss_impl: 'liger' at
tp 1, 'chunked_compile' above, when AUTO_USES_FASTEST). `KernelChoice.of(None)` is the set the runtime
runs by default on CUDA - what the search costs - and `KernelChoice.of(KernelSet(...))` one fixed set
(a committed run's record, RunReport.kernels).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Callable

import sympy as sp

from mist_ds.config import kernel_picks
from mist_ds.config.kernel_picks import ELEMENTWISE_IMPLS, LOSS_IMPLS
from mist_ds.cost.symbols import minimum, tp as TP_SYM


ROPE_COMPILED_ON_VIEWS = "compile_views"
"""The 'compile' RoPE as the runtime ran it until FUSED_QKV_ROPE_SINCE: torch.compile of the rotation of
the transposed q / k views, v copied out eagerly (runtime/kernels.py now compiles the fused projection's
split instead: torch_qkv_rope). Only committed runs' records name it (from_record); nothing runs it."""
FUSED_QKV_ROPE_SINCE = "2026-11-30T17:50:00"
"""RunReport.date_utc from which a recorded 'compile' RoPE is the fused-projection one (the runtime change
was committed at 17:56 UTC; the last call with the old one ended 17:47, the next began 17:59)."""


@dataclass(frozen=True)
class KernelSet:
    """One implementation per op, as RunReport.kernels records what ran. The defaults are the eager
    set every run before 2026-11-30 09:00 ran (an empty record)."""

    norm: str = "torch"
    """RMSNorm / LayerNorm: one of ELEMENTWISE_IMPLS."""
    activation: str = "torch"
    """SwiGLU (GELU always runs torch's fused kernel): one of ELEMENTWISE_IMPLS."""
    rope: str = "torch"
    """RoPE of q and k: one of ELEMENTWISE_IMPLS (or ROPE_COMPILED_ON_VIEWS, what older runs ran)."""
    loss: str = "chunked"
    """Cross-entropy: one of LOSS_IMPLS."""

    def __post_init__(self) -> None:
        checked = replace(self, rope="torch") if self.rope == ROPE_COMPILED_ON_VIEWS else self
        kernel_picks.check_elementwise(checked, ELEMENTWISE_IMPLS)
        if self.loss not in LOSS_IMPLS:
            raise ValueError(f"loss kernel must be one of {LOSS_IMPLS}, not {self.loss!r}")

    @classmethod
    def from_record(cls, kernels: dict[str, str] | None, date_utc: str | None = None) -> KernelSet:
        """The set a RunReport.kernels record names (its 'attention' is the plan's and left out); an
        empty or missing record is the eager set (runs that predate the record ran it). An op recorded
        'none' did not run (rope of a model without rotary embeddings, runtime/build.py) and keeps the
        default, which the cost model charges nothing for such a model. A 'compile' RoPE of a run
        dated (RunReport.date_utc) before FUSED_QKV_ROPE_SINCE ran on the transposed q / k views:
        ROPE_COMPILED_ON_VIEWS."""
        if not kernels:
            return cls()
        named = {f.name: kernels[f.name] for f in fields(cls) if kernels.get(f.name, "none") != "none"}
        if named.get("rope") == "compile" and date_utc is not None and date_utc < FUSED_QKV_ROPE_SINCE:
            named["rope"] = ROPE_COMPILED_ON_VIEWS
        return cls(**named)

    def summary(self) -> str:
        """'norm torch, activation compile, rope compile, loss liger'."""
        return ", ".join(f"{f.name} {getattr(self, f.name)}" for f in fields(self))


EAGER = KernelSet()


def runtime_default(tp: int) -> KernelSet:
    """What the runtime's 'auto' kernels run on CUDA at this tp (config/kernel_picks.py, read at call
    time, with liger-kernel installed as on the GPU machines)."""
    fastest = kernel_picks.AUTO_USES_FASTEST
    return KernelSet(**{op: kernel_picks.elementwise_impl(op, True, fastest) for op in kernel_picks.ELEMENTWISE_OPS},
                     loss=kernel_picks.loss_impl(True, int(tp), True, fastest))


@dataclass(frozen=True)
class KernelChoice:
    """The kernel set at tp = 1 and at tp > 1 (the runtime's choice depends on nothing else of a
    strategy: tests/cost/test_kernel_set.py checks runtime_default over tp)."""

    at_tp1: KernelSet
    """The set a stage without tensor parallelism runs."""
    above_tp1: KernelSet
    """The set a tensor-parallel stage runs."""

    @classmethod
    def of(cls, kernels: KernelSet | KernelChoice | None) -> KernelChoice:
        """None: the runtime's default (runtime_default); a KernelSet: that set at every tp."""
        if isinstance(kernels, KernelChoice):
            return kernels
        if kernels is None:
            return cls(runtime_default(1), runtime_default(2))
        return cls(kernels, kernels)

    def at(self, tp: int) -> KernelSet:
        """The set at this tensor-parallel degree."""
        return self.at_tp1 if int(tp) <= 1 else self.above_tp1

    def blend(self, term: Callable[[KernelSet], sp.Expr]) -> sp.Expr:
        """A sympy term of the kernel set as a function of the symbol tp: term(at_tp1) at tp = 1,
        term(above_tp1) above (minimum(tp - 1, 1) is 0 at tp = 1 and 1 for any larger integer)."""
        one, many = term(self.at_tp1), term(self.above_tp1)
        if self.at_tp1 == self.above_tp1 or sp.simplify(sp.sympify(many) - sp.sympify(one)) == 0:
            return one
        return one + (many - one) * minimum(TP_SYM - 1, 1)
