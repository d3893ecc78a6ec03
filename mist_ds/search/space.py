"""The search space: every layout (mesh, batch split, ZeRO/offload setting) the runtime can execute.

A *layout* fixes everything that one engine shares across pipeline stages: the executor, the stage
count, the dp x tp grid of every stage, the micro-batch and accumulation and — for stock DeepSpeed,
which runs one setting for all stages — the ZeRO stage and the weight / gradient / optimizer offload
ratios. What may differ per stage — its layer count, how many of its layers recompute, how many keep
their saved activations in CPU memory and, for an executor with per-stage memory (mistpipe,
config/executors.py), its own ZeRO/offload setting from `layout_settings` — is chosen by the exact
partition (partition.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from mist_ds.config import ClusterSpec, ModelSpec, TuneRequest
from mist_ds.config.executors import ACTIVATION_FRACTIONS, Executor, get_executor
from mist_ds.config.plan import describe_mesh, describe_setting
from mist_ds.cost.mistpipe_state import bounding_settings
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
    executor: str = "deepspeed"
    """Engine (config/executors.py); with per-stage memory the four fields above are unused (0)."""

    @property
    def per_stage_memory(self) -> bool:
        """Whether each stage picks its own ZeRO/offload setting (layout_settings)."""
        return get_executor(self.executor).per_stage_memory

    def short(self) -> str:
        """Compact text for narrow tables, e.g. 'pp2 dp4 tp1 mb2 ga8 Z1 opt1'."""
        return self._text(short=True)

    def describe(self) -> str:
        """Short human text, e.g. 'pp2 x dp4 x tp1, mb 2, ga 8, ZeRO-1, opt-offload 1'."""
        return self._text(short=False)

    def _text(self, short: bool) -> str:
        if self.per_stage_memory:
            mesh = describe_mesh(self.num_stages, self.dp, self.tp, self.micro_batch, self.grad_accum, short)
            return f"{self.executor}: {mesh}{' ' if short else ', '}memory per stage"
        return describe_setting(self.num_stages, self.dp, self.tp, self.micro_batch, self.grad_accum,
                                self.zero_stage, self.offload_weights, self.offload_optimizer, short,
                                self.offload_gradients)


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
    """(zero, weights, gradients, optimizer) offload settings the executor accepts on its grids
    (config/executors.py). Stock DeepSpeed offloads gradients exactly with the optimizer states (it
    couples them), so its optimizer offload needs both switches on; mistpipe switches each kind."""
    space = request.space
    executor = executor or get_executor("deepspeed")
    if executor.gradient_ratios is None:
        settings = executor.memory_settings(num_stages, space.zero_stages, weights=space.offload_weights,
                                            optimizer=space.offload_optimizer and space.offload_gradients)
    else:
        settings = executor.memory_settings(num_stages, space.zero_stages, weights=space.offload_weights,
                                            optimizer=space.offload_optimizer, gradients=space.offload_gradients)
    return [(s.zero_stage, s.offload_weights_ratio, s.offload_gradients_ratio, s.offload_optimizer_ratio)
            for s in settings]


def layout_settings(request: TuneRequest, layout: Layout) -> tuple[tuple[int, float, float, float], ...]:
    """The memory settings a layout's stages choose from: its own one (stock DeepSpeed), or every
    setting of the executor's grids (per-stage memory). With one data-parallel rank mistpipe's ZeRO
    stages shard over a group of one — ZeRO-1/2 run ZeRO-0's code (engine.py: opt_world = 1) and ZeRO-3
    only adds gather slots and copies (stage.py _build_units; never cheaper in cost/mistpipe.py,
    tests/cost/test_mistpipe_cost.py) — so only the lowest allowed ZeRO stage is kept there."""
    if not layout.per_stage_memory:
        return ((layout.zero_stage, layout.offload_weights, layout.offload_gradients, layout.offload_optimizer),)
    return _per_stage_settings(request, layout.executor, layout.num_stages, layout.dp == 1)


_SETTINGS_CACHE: dict[tuple, tuple] = {}


def _per_stage_settings(request: TuneRequest, name: str, num_stages: int, single_rank: bool) -> tuple:
    space = request.space
    key = (space.zero_stages, space.offload_weights, space.offload_gradients, space.offload_optimizer, name,
           num_stages, single_rank)
    if key not in _SETTINGS_CACHE:
        settings = memory_settings(request, num_stages, get_executor(name))
        if single_rank and settings:
            lowest = min(z for z, *_ in settings)
            settings = [s for s in settings if s[0] == lowest]
        _SETTINGS_CACHE[key] = tuple(settings)
    return _SETTINGS_CACHE[key]


def screen_settings(request: TuneRequest, layout: Layout) -> tuple[int, tuple[int, ...]]:
    """(fastest, memory-bounding) settings of a layout for the screening pass, as indices into
    layout_settings. Fastest: no offload at the lowest ZeRO stage — nothing moves beside compute, and
    copies and gathers only lengthen a micro-batch (cost/mistpipe.py), so no setting has a smaller
    stable time. Memory-bounding: the settings no other one beats on device state bytes
    (cost/mistpipe.py bounding_settings), so the smallest peak over all settings is found on them
    (tests/search/test_mistpipe_search.py checks both claims against every setting). Host memory is
    not bounded this way: evaluate.py _smallest says what that costs."""
    settings = layout_settings(request, layout)
    if len(settings) == 1:
        return 0, (0,)
    fastest = min(range(len(settings)), key=lambda i: (sum(settings[i][1:]) > 0, settings[i]))
    return fastest, bounding_settings(request.model.to_json(), settings, layout.dp, layout.tp, layout.num_stages)


def executors_for(request: TuneRequest, names: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Executors the search enumerates: `names` (default: the request's SearchSpace.executors) that
    train in the request's dtype."""
    return tuple(n for n in (names or request.space.executors) if request.dtype in get_executor(n).dtypes)


def activation_fractions(request: TuneRequest) -> tuple[float, ...]:
    """Per-stage activation-offload fractions the partition may pick from (ascending); a fraction
    becomes whole layers through executors.offloaded_layer_count. Our runtime executes any count
    (runtime/model.py block_roles); DeepSpeed's config has no such knob."""
    return ACTIVATION_FRACTIONS if request.space.offload_activations else (0.0,)


def enumerate_layouts(request: TuneRequest, executors: tuple[str, ...] | None = None) -> list[Layout]:
    """Every executable layout of the request, sorted (deterministic): stock DeepSpeed's one per
    memory setting, a per-stage-memory executor's one per mesh and batch split."""
    cluster, model, batch = request.cluster, request.model, request.global_batch_size
    names = executors_for(request, executors)
    layouts = []
    for stages in stage_counts(request):
        settings = memory_settings(request, stages) if "deepspeed" in names else []
        per_stage = [n for n in names if get_executor(n).per_stage_memory]
        for tp in tp_degrees(model, cluster, request):
            if not ok.uniform_mesh(cluster, stages, tp):
                continue
            dp = cluster.num_gpus // (stages * tp)
            for micro in divisors(batch):
                if micro > request.space.max_micro_batch or not ok.batch_divides(batch, micro, dp):
                    continue
                accum = batch // (micro * dp)
                layouts.extend(Layout(stages, tp, dp, micro, accum, *setting) for setting in settings)
                layouts.extend(Layout(stages, tp, dp, micro, accum, 0, executor=name) for name in per_stage
                               if _per_stage_settings(request, name, stages, dp == 1))
    return sorted(layouts)
