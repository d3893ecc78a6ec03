"""The search space: every layout (mesh, batch split, ZeRO/offload setting) the runtime can execute.

A *layout* fixes everything that one DeepSpeed engine shares across pipeline stages: the stage count,
the dp x tp grid of every stage, the micro-batch and accumulation, the ZeRO stage and the weight /
gradient / optimizer offload ratios. What may differ per stage — its layer count, how many of its
layers recompute and how many keep their saved activations in CPU memory — is chosen by the
exact partition (partition.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from mist_ds.config import ClusterSpec, ModelSpec, TuneRequest
from mist_ds.config.executors import ACTIVATION_FRACTIONS, Executor, get_executor
from mist_ds.config.plan import describe_setting
from mist_ds.search import feasibility as ok


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
        return self._text(short=True)

    def describe(self) -> str:
        """Short human text, e.g. 'pp2 x dp4 x tp1, mb 2, ga 8, ZeRO-1, opt-offload 1'."""
        return self._text(short=False)

    def _text(self, short: bool) -> str:
        return describe_setting(self.num_stages, self.dp, self.tp, self.micro_batch, self.grad_accum,
                                self.zero_stage, self.offload_weights, self.offload_optimizer, short)


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


def memory_settings(request: TuneRequest, num_stages: int,
                    executor: Executor | None = None) -> list[tuple[int, float, float, float]]:
    """(zero, weights, gradients, optimizer) offload settings the executor accepts (config/executors.py).
    Gradients are offloaded exactly with the optimizer states (DeepSpeed couples them), so optimizer
    offload needs both switches on."""
    space = request.space
    executor = executor or get_executor("deepspeed")
    settings = executor.memory_settings(num_stages, space.zero_stages, weights=space.offload_weights,
                                        optimizer=space.offload_optimizer and space.offload_gradients)
    return [(s.zero_stage, s.offload_weights_ratio, s.offload_gradients_ratio, s.offload_optimizer_ratio)
            for s in settings]


def activation_fractions(request: TuneRequest) -> tuple[float, ...]:
    """Per-stage activation-offload fractions the partition may pick from (ascending); a fraction
    becomes whole layers through executors.offloaded_layer_count. Our runtime executes any count
    (runtime/model.py block_roles); DeepSpeed's config has no such knob."""
    return ACTIVATION_FRACTIONS if request.space.offload_activations else (0.0,)


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
