"""Compile the stage expressions once per (model, seq_len, attention) with sympy.lambdify.

All outputs are compiled into ONE numpy function with common-subexpression elimination, so a
call evaluates every memory and work term of millions of strategies in a few array passes.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from mist_ds.config import ModelSpec
from mist_ds.cost import memory, work
from mist_ds.cost.activations import Attention
from mist_ds.cost.kernel_set import KernelChoice
from mist_ds.cost.symbols import ARGS

_NUMPY_FUNCS = {"minimum": np.minimum, "maximum": np.maximum}
COMPILED_CACHE_SIZE = 256
"""Compiled (model, seq_len, attention, kernel set) kept per process. A search needs a few; scoring the
committed runs walks ~45 of them in a loop, and a cache smaller than that recompiles every one on every
pass (sympy's lambdify with CSE: ~0.1-0.2 s each), which made a calibration's fit several times slower."""


def stage_expressions(model: ModelSpec, seq_len: int, attention: Attention,
                      kernels: KernelChoice | None = None) -> dict[str, sp.Expr]:
    """Every per-stage term (memory bytes, FLOPs, traffic) as sympy expressions of ARGS, for the
    kernel set that runs (None: the runtime's default)."""
    exprs: dict[str, sp.Expr] = {}
    exprs.update(memory.model_state_exprs(model))
    exprs.update(memory.activation_exprs(model, seq_len, attention, kernels))
    exprs.update(work.comm_exprs(model, seq_len))
    return exprs


def is_host_term(name: str) -> bool:
    """Host-memory terms: compiled apart, evaluated only for strategies that offload something."""
    return name.startswith("host_") or name in ("cpu_states", "cpu_activations", "cpu_packed_weights")


def _lambdify(exprs: dict[str, sp.Expr], names: tuple[str, ...]):
    return sp.lambdify(ARGS, [sp.sympify(exprs[n]) for n in names], modules=[_NUMPY_FUNCS, "numpy"], cse=True)


@functools.lru_cache(maxsize=COMPILED_CACHE_SIZE)
def _compile_cached(model_json: str, seq_len: int, attention: str, kernels: KernelChoice):
    model = ModelSpec.from_json_text(model_json)
    exprs = stage_expressions(model, seq_len, attention, kernels)
    names = tuple(n for n in exprs if not is_host_term(n))
    host = tuple(n for n in exprs if is_host_term(n))
    return names, _lambdify(exprs, names), host, _lambdify(exprs, host)


def compile_stage(model: ModelSpec, seq_len: int, attention: Attention = "sdpa",
                  kernels: KernelChoice | None = None):
    """(names, f, host_names, host_f): f(*ARGS) returns the terms in `names` order, host_f those in
    `host_names` (is_host_term); cached per process and kernel set (None: the runtime's default)."""
    return _compile_cached(model.to_json(), seq_len, attention, KernelChoice.of(kernels))
