"""The sympy symbols of one pipeline stage's strategy (everything the search varies).

Model dimensions and the sequence length are numbers substituted into the expressions; the
strategy stays symbolic so one compiled function evaluates millions of strategies at once.
"""

from __future__ import annotations

import sympy as sp

# --- strategy symbols (per stage, per GPU) -------------------------------------------------
b = sp.Symbol("b", positive=True)            # micro-batch size (sequences per DP rank)
L = sp.Symbol("L", nonnegative=True)         # transformer blocks in the stage
dp = sp.Symbol("dp", positive=True)          # data-parallel degree
tp = sp.Symbol("tp", positive=True)          # tensor-parallel degree
r = sp.Symbol("r", nonnegative=True)         # recomputed blocks (the stage's first r)
k = sp.Symbol("k", positive=True)            # in-flight micro-batches whose activations are held
ow = sp.Symbol("ow", nonnegative=True)       # offloaded fraction of 16-bit weights
og = sp.Symbol("og", nonnegative=True)       # offloaded fraction of gradients
oo = sp.Symbol("oo", nonnegative=True)       # offloaded fraction of optimizer states (CPU Adam)
na = sp.Symbol("na", nonnegative=True)       # blocks whose saved activations live in CPU memory

# --- indicator symbols (0/1), computed in numpy from the integer arguments -----------------
Z0, Z1, Z2, Z3 = sp.symbols("Z0 Z1 Z2 Z3", nonnegative=True)  # one-hot ZeRO stage
BF = sp.Symbol("BF", nonnegative=True)       # ZeRO-0 runs DeepSpeed's BF16_Optimizer (bf16 pipeline)
E = sp.Symbol("E", nonnegative=True)         # stage holds the embedding
HD = sp.Symbol("HD", nonnegative=True)       # stage holds final norm + LM head + loss
HC = sp.Symbol("HC", nonnegative=True)       # stage holds an LM-head matrix (untied, or tied copy, S>1)
PP = sp.Symbol("PP", nonnegative=True)       # more than one pipeline stage
RP = sp.Symbol("RP", nonnegative=True)       # r > 0
VS = sp.Symbol("VS", positive=True)          # vocabulary rows per TP rank (padded vocab / tp)
OF = sp.Symbol("OF", nonnegative=True)       # optimizer offload configured (oo > 0)
GA = sp.Symbol("GA", nonnegative=True)       # gradient accumulation (grad_accum > 1)
PS = sp.Symbol("PS", nonnegative=True)       # ZeRO-3 persistent parameters of the stage (per TP rank)
MP = sp.Symbol("MP", nonnegative=True)       # numel of the stage's largest parameter tensor
LB = sp.Symbol("LB", nonnegative=True)       # ZeRO-3 bounds its gathered parameters to the reuse set
#                                              (the plan's zero3_max_live = 'reuse_set', cost/memory.py)
FB = sp.Symbol("FB", nonnegative=True)       # ZeRO-3 fetches each block as one unit (the plan's
#                                              zero3_fetch_unit = 'block', cost/work.py z3_fetches)

ARGS = (b, L, dp, tp, r, k, ow, og, oo, na, Z0, Z1, Z2, Z3, BF, E, HD, HC, PP, RP, VS, OF, GA,
        PS, MP, LB, FB)
"""Argument order of every compiled function."""

minimum = sp.Function("minimum")   # printed as minimum(...) and bound to numpy.minimum
maximum = sp.Function("maximum")   # printed as maximum(...) and bound to numpy.maximum


def numeric(expr) -> float:
    """The value of a cost formula called with numbers only (no symbol of ARGS left), its minimum and
    maximum evaluated as sympy's Min and Max."""
    return float(sp.sympify(expr).replace(minimum, sp.Min).replace(maximum, sp.Max))
