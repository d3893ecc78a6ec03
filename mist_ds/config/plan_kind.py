"""The kind of a plan, as the shipped track record (config/track_record.py) is looked up: the strategy family,
most specific first (what the accuracy suite groups its runs by: bench/results/accuracy.md, by family), a stock
ZeRO-3 plan's fetch unit, whether a weight-offload plan keeps optimizer state on the GPU, and whether the plan
spans one GPU or several."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mist_ds.config.plan import Plan


def strategy_family(*, executor: str, offload_weights: float, offload_optimizer: float, zero_stage: int,
                    offloads_activations: bool, tp: int, pp: int) -> str:
    """The strategy family of a plan with these settings: what sets it apart, most specific first
    (mistpipe, weight-offload, zero3-offload / zero12-offload, activation-offload, tensor-parallel,
    pipeline, zero0..zero3)."""
    if executor == "mistpipe":
        return "mistpipe"
    if offload_weights > 0:
        return "weight-offload"
    if offload_optimizer > 0:
        return "zero3-offload" if zero_stage == 3 else "zero12-offload"
    if offloads_activations:
        return "activation-offload"
    if tp > 1:
        return "tensor-parallel"
    if pp > 1:
        return "pipeline"
    return f"zero{zero_stage}"


def plan_family(plan: Plan) -> str:
    """strategy_family of `plan` (its engine-wide ZeRO/offload setting, Plan.memory)."""
    memory = plan.memory
    return strategy_family(executor=plan.executor, offload_weights=memory.offload_weights_ratio,
                           offload_optimizer=memory.offload_optimizer_ratio, zero_stage=memory.zero_stage,
                           offloads_activations=any(s.num_offloaded_layers > 0 for s in plan.stages),
                           tp=plan.tp, pp=plan.num_stages)


def gpu_span(num_gpus: int) -> str:
    """'1 GPU' or 'multi-GPU': one GPU runs no collective, so its plans are a kind apart."""
    return "1 GPU" if num_gpus == 1 else "multi-GPU"


def fetch_text(plan: Plan) -> str:
    """' (whole-block fetch)' for a stock ZeRO-3 plan that fetches whole blocks (Plan.zero3_fetch_unit), else '':
    the fetch unit sets how far such a plan's step is paced by its host (bench/accuracy/HOST_JITTER.md: 1-GPU
    ZeRO-3 plans that fetch per module ran 12.2% off the model in the median over 54 runs of 6 plans, those that
    fetch whole blocks 1.9% over 15 runs of 11 plans, bench/results/accuracy.json of session 39), so it splits
    the track record."""
    block = plan.executor == "deepspeed" and plan.memory.zero_stage == 3 and plan.zero3_fetch_unit == "block"
    return " (whole-block fetch)" if block else ""


def optimizer_text(plan: Plan) -> str:
    """' (optimizer on GPU)' for a stock weight-offload plan that keeps all or part of its optimizer on the GPU,
    else ''. DeepSpeed then writes each GPU sub-group's updated fp32 partition back into the 16-bit partition on
    the host with a blocking `copy_` (stage3.py _reassign_or_swap_out_partitioned_parameters), which torch runs as
    a device-to-host copy into a new pageable fp32 tensor and a dtype conversion on the CPU (aten/src/ATen/native/
    cuda/Copy.cu copy_kernel_cuda: "type conversions are performed on the CPU for CPU-GPU copies"); with the
    optimizer offloaded that write-back is a host-side copy. Until session 42 the cost model priced it only with
    part of the optimizer offloaded and at a borrowed rate, and every such run ran far slower than predicted
    (Qwen3-4B at seq 16384, optimizer on the GPU, -54.1%; llama-13b on 2 GPUs at ratios 0.375-0.5, -16.7% to
    -27.2%; the 22 weight-offload runs with the optimizer offloaded: 2.1% in the median). It is now priced at a
    rate fitted on those llama-13b runs (config/hardware.py pageable_d2h_bandwidth_gbps; the held-out Qwen3-4B run:
    -3.5%); the kind keeps its own track record until more held-out runs show the fitted rate holds."""
    partial = plan_family(plan) == "weight-offload" and plan.memory.offload_optimizer_ratio < 1
    return " (optimizer on GPU)" if partial else ""


def plan_kind(plan: Plan) -> str:
    """'<family>[ (whole-block fetch)][ (optimizer on GPU)], <gpu span>', e.g. 'zero3-offload (whole-block
    fetch), 1 GPU': the key of the track record."""
    return f"{plan_family(plan)}{fetch_text(plan)}{optimizer_text(plan)}, {gpu_span(plan.cluster.num_gpus)}"
