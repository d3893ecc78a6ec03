"""The search space: every layout (mesh, batch split, ZeRO/offload setting) the runtime can execute.

A *layout* fixes everything that one DeepSpeed engine shares across pipeline stages: the stage count,
the dp x tp grid of every stage, the micro-batch and accumulation, the ZeRO stage and the weight /
gradient / optimizer offload ratios. What may differ per stage — its layer count, how many of its
layers recompute and the fraction of its saved activations offloaded to CPU memory — is chosen by the
exact partition (partition.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from mist_ds.config import ClusterSpec, ModelSpec, TuneRequest
from mist_ds.search import feasibility as ok

# Fractional optimizer offload grid (ZeRO-3 only): eighths, as Mist's `oo` grid (0 .. 1 by 1/8).
OPTIMIZER_RATIOS = tuple(i / 8 for i in range(9))
# Activation offload grid (used only if the runtime executes activation offload).
ACTIVATION_RATIOS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True, order=True)
class Layout:
    """What all pipeline stages of one plan share; ordered fields give deterministic tie-breaking."""

    num_stages: int
    tp: int
    dp: int
    micro_batch: int
    grad_accum: int
    zero_stage: int
    offload_weights: float = 0.0
    offload_gradients: float = 0.0
    offload_optimizer: float = 0.0

    def short(self) -> str:
        """Compact text for narrow tables, e.g. 'pp2 dp4 tp1 mb2 ga8 Z1 opt1'."""
        text = (f"pp{self.num_stages} dp{self.dp} tp{self.tp} mb{self.micro_batch} "
                f"ga{self.grad_accum} Z{self.zero_stage}")
        for name, ratio in (("w", self.offload_weights), ("opt", self.offload_optimizer)):
            if ratio:
                text += f" {name}{ratio:g}"
        return text

    def describe(self) -> str:
        """Short human text, e.g. 'pp2 x dp4 x tp1, mb 2, ga 8, ZeRO-1, opt-offload 1'."""
        text = (f"pp{self.num_stages} x dp{self.dp} x tp{self.tp}, mb {self.micro_batch}, "
                f"ga {self.grad_accum}, ZeRO-{self.zero_stage}")
        for name, ratio in (("w", self.offload_weights), ("g", self.offload_gradients),
                            ("opt", self.offload_optimizer)):
            if ratio:
                text += f", {name}-offload {ratio:g}"
        return text


def divisors(n: int) -> list[int]:
    """Positive divisors of n, ascending. O(sqrt n) trial division: n is at most a schema cap
    (2**20 GPUs or sequences, mist_ds.config), so this is at most ~1,000 steps."""
    if n < 1:
        raise ValueError(f"divisors() needs a positive integer, got {n}")
    small, large = [], []
    d = 1
    while d * d <= n:
        if n % d == 0:
            small.append(d)
            if d * d != n:
                large.append(n // d)
        d += 1
    return small + large[::-1]


def stage_counts(request: TuneRequest) -> list[int]:
    """Pipeline depths to try: divisors of the GPU count, at most the layer count and --max-pp."""
    space, cluster = request.space, request.cluster
    if not space.pipeline:
        return [1]
    limit = space.max_pp or cluster.num_gpus
    return [s for s in divisors(cluster.num_gpus)
            if s <= limit and ok.stages_have_layers(request.model, s)]


def tp_degrees(model: ModelSpec, cluster: ClusterSpec, request: TuneRequest) -> list[int]:
    """Tensor-parallel degrees: within a node, dividing the heads, at most --max-tp."""
    if not request.space.tensor_parallel:
        return [1]
    return [t for t in divisors(cluster.gpus_per_node)
            if t <= request.space.max_tp and ok.tp_within_node(cluster, t) and ok.tp_divides_heads(model, t)]


def memory_settings(request: TuneRequest, num_stages: int) -> list[tuple[int, float, float, float]]:
    """(zero, weights, gradients, optimizer) offload settings the runtime accepts. Gradients are
    offloaded exactly with the optimizer states (DeepSpeed couples them), so optimizer offload needs
    both switches on."""
    space = request.space
    opt_allowed = space.offload_optimizer and space.offload_gradients
    opt_grid = OPTIMIZER_RATIOS if opt_allowed else (0.0,)
    w_grid = (0.0, 1.0) if space.offload_weights else (0.0,)
    settings = []
    for zero, w, o in product(space.zero_stages, w_grid, opt_grid):
        if (ok.pipeline_zero_supported(num_stages, zero) and ok.optimizer_offload_supported(zero, o)
                and ok.weight_offload_supported(zero, w) and ok.gradient_offload_follows_optimizer(o, o)):
            settings.append((zero, w, o, o))
    return settings


def activation_ratios(request: TuneRequest) -> tuple[float, ...]:
    """Per-stage activation-offload ratios the partition may pick from (ascending)."""
    if not request.space.offload_activations:
        return (0.0,)
    return tuple(a for a in ACTIVATION_RATIOS if ok.activation_offload_supported(a))


def enumerate_layouts(request: TuneRequest) -> list[Layout]:
    """Every executable layout of the request, sorted (deterministic)."""
    cluster, model, batch = request.cluster, request.model, request.global_batch_size
    layouts = []
    for stages in stage_counts(request):
        settings = memory_settings(request, stages)
        for tp in tp_degrees(model, cluster, request):
            if not ok.uniform_mesh(cluster, stages, tp):
                continue
            dp = cluster.num_gpus // (stages * tp)
            for micro in divisors(batch):
                if micro > request.space.max_micro_batch or not ok.batch_divides(batch, micro, dp):
                    continue
                accum = batch // (micro * dp)
                layouts.extend(Layout(stages, tp, dp, micro, accum, *setting) for setting in settings)
    return sorted(layouts)
