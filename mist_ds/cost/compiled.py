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
from mist_ds.cost.symbols import ARGS

_NUMPY_FUNCS = {"minimum": np.minimum, "maximum": np.maximum}


def stage_expressions(model: ModelSpec, seq_len: int, attention: Attention) -> dict[str, sp.Expr]:
    """Every per-stage term (memory bytes, FLOPs, traffic) as sympy expressions of ARGS."""
    exprs: dict[str, sp.Expr] = {}
    exprs.update(memory.model_state_exprs(model))
    exprs.update(memory.activation_exprs(model, seq_len, attention))
    exprs.update(work.comm_exprs(model, seq_len))
    return exprs


@functools.lru_cache(maxsize=32)
def _compile_cached(model_json: str, seq_len: int, attention: str):
    model = ModelSpec.from_json_text(model_json)
    exprs = stage_expressions(model, seq_len, attention)
    names = tuple(exprs)
    fn = sp.lambdify(ARGS, [sp.sympify(exprs[n]) for n in names],
                     modules=[_NUMPY_FUNCS, "numpy"], cse=True)
    return names, fn


def compile_stage(model: ModelSpec, seq_len: int, attention: Attention = "sdpa"):
    """(names, f) where f(*ARGS) returns the terms in `names` order (cached per process)."""
    return _compile_cached(model.to_json(), seq_len, attention)
