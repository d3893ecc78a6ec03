"""report.md: the plan, its per-stage breakdown, the alternatives compared, and why it wins.

Rendered from predicted Plans alone (plus optional search statistics), so `autotune` and
`predict --out` write the same report for a tuned or a hand-written plan.
"""

from __future__ import annotations

from collections.abc import Sequence

from mist_ds.config import HardwareProfile, Plan
from mist_ds.config.request import HostLimits
from mist_ds.config.search_stats import SearchStats
from mist_ds.config.track_record import TrackRecord, expected_time_range_s, record_for
from mist_ds.emit.coverage import unmeasured_line
from mist_ds.emit.hf import hf_trainer_blocker
from mist_ds.emit.host import host_lines
from mist_ds.emit.readable import MEMORY_UNITS, TIME_UNITS, Unit, bytes_text, in_unit, pick_unit, seconds_text

TIME_KINDS = ("compute_s", "recompute_s", "tp_comm_s", "dp_comm_s", "offload_s", "optimizer_s", "pipeline_s")
HOST_PACED_SHARE = 0.10
"""Share of the iteration a stage's GPU waits for the training thread (TimeBreakdown.host_wait_s)
from which host_paced_line warns. Of the suite's plans run three times or more, those predicted at
17-68% spread 8-56% (slowest - fastest over median; the three widest are the three most host-bound),
those at 3-5% spread 4-21% with up to five kernel sets or engine versions among their runs, 5% for
the one that ran a single set (bench/accuracy/HOST_JITTER.md, session 19; bench/accuracy/host_paced.py)."""
HOST_SPREAD = "such plans moved -20% to +33% between runs on one 16-vCPU H200 node"
"""What host speed did to host-paced plans, measured (bench/accuracy/HOST_JITTER.md: 1-GPU ZeRO-3 plans
between machine calls of one node kind)."""
RETRY_COST = "2-4% of the iteration in the runs that measured it"
"""What allocator retries at the cap cost, measured: two Llama 3.2 3B ZeRO-3 offload plans capped (36-47
retries) against the same plans uncapped in one call (bench/results/runtime/retries_S33/README.md, S33-2)."""
LEGEND = ("setting: pp pipeline stages, dp data-parallel and tp tensor-parallel degree; mb micro-batch per GPU; "
          "ga gradient-accumulation steps; Z ZeRO stage; opt fraction of optimizer states (and their gradients) "
          "and w fraction of weights offloaded to CPU memory. layers, recompute, act offload: layers per "
          "pipeline stage ('/' between stages). Memory is the predicted peak per GPU (its worst stage). record: "
          "the median / largest time error of the held-out GPU runs of plans of that kind, and how many ran "
          "(config/track_record.py).")


def legend_line() -> str:
    """The one-line key to the short plan settings ('pp1 dp2 tp1 mb4 ga1 Z1 opt1') and the columns of
    the autotune table and report.md."""
    return LEGEND


def layer_range(start: int, end: int) -> str:
    """The one spelling of a stage's layers in every output: half-open, as StagePlan stores them."""
    return f"[{start}, {end})"


def split_text(plan: Plan) -> str:
    """Layers per stage, e.g. '16/16'."""
    return "/".join(str(s.num_layers) for s in plan.stages)


def recompute_text(plan: Plan) -> str:
    """Recomputed layers per stage."""
    return "/".join(str(s.num_recompute_layers) for s in plan.stages)


def offload_text(plan: Plan) -> str:
    """Activation-offloaded layers per stage."""
    return "/".join(str(s.num_offloaded_layers) for s in plan.stages)


def peak_bytes(plan: Plan) -> int:
    """The plan's predicted peak per GPU (its worst stage)."""
    return max(s.peak_memory_bytes for s in plan.prediction.stages)


def memory_cap(plan: Plan, hardware: HardwareProfile) -> int:
    """The per-GPU memory the plan must fit."""
    return plan.gpu_memory_cap_bytes or hardware.gpu_memory_bytes


def _header(plan: Plan, hardware: HardwareProfile) -> list[str]:
    model, cluster = plan.model, plan.cluster
    cap_text = bytes_text(memory_cap(plan, hardware)) + (
        " (plan's gpu_memory_cap_bytes)" if plan.gpu_memory_cap_bytes else f" (whole {hardware.gpu_name})")
    return [
        f"# mist_ds plan: {model.name} on {cluster.num_nodes} x {cluster.gpus_per_node} GPUs", "",
        f"- model: {model.name}, {model.num_params / 1e9:.2f} B parameters, {model.num_layers} layers",
        f"- cluster: {cluster.num_nodes} node(s) x {cluster.gpus_per_node} GPUs, hardware profile "
        f"`{hardware.name}` ({hardware.provenance.source})",
        f"- global batch {plan.global_batch_size} sequences x {plan.seq_len} tokens, {plan.dtype}, "
        f"attention `{plan.attention}`, executor `{plan.executor}`",
        f"- per-GPU memory cap: {cap_text}", "",
    ]


def _stage_tables(plan: Plan) -> list[str]:
    pred = plan.prediction
    mem = pick_unit(max(max(s.peak_memory_bytes, s.cpu_memory_bytes) for s in pred.stages), MEMORY_UNITS)
    lines = [f"Memory per GPU, {mem.name}:", "",
             f"| stage | layers | recompute | act offload | peak {mem.name} per GPU | weights | gradients | "
             f"optimizer | activations | buffers | CPU {mem.name} |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for index, (stage, sp) in enumerate(zip(plan.stages, pred.stages)):
        m = sp.memory_breakdown
        cells = [in_unit(v, mem) for v in (sp.peak_memory_bytes, m.weights_bytes, m.gradients_bytes,
                                            m.optimizer_states_bytes, m.activations_bytes, m.buffers_bytes,
                                            sp.cpu_memory_bytes)]
        lines.append(f"| {index} | {layer_range(stage.layer_start, stage.layer_end)} | {stage.num_recompute_layers} | "
                     f"{stage.num_offloaded_layers} | " + " | ".join(cells) + " |")
    clock = pick_unit(pred.iteration_time_s, TIME_UNITS)
    lines += ["", f"Time per iteration by activity (exposed time), {clock.name}:", "",
              "| stage | " + " | ".join(k.removesuffix("_s") for k in TIME_KINDS) + " |",
              "|---" * (len(TIME_KINDS) + 1) + "|"]
    for index, sp in enumerate(pred.stages):
        values = " | ".join(in_unit(getattr(sp.time_breakdown, k), clock) for k in TIME_KINDS)
        lines.append(f"| {index} | {values} |")
    return lines + [""]


def host_paced_line(plan: Plan) -> str | None:
    """One sentence when the stage whose GPU waits longest for its training thread waits at least
    HOST_PACED_SHARE of the iteration (None otherwise): such a plan's time follows that CPU core's speed."""
    pred = plan.prediction
    waits = [s.time_breakdown.host_wait_s for s in pred.stages]
    if None in waits:     # predicted before the field existed
        return None
    index = max(range(len(waits)), key=waits.__getitem__)
    wait, share = waits[index], waits[index] / pred.iteration_time_s
    if share < HOST_PACED_SHARE:
        return None
    return (f"Host-paced: stage {index}'s GPU waits {seconds_text(wait)} of the {seconds_text(pred.iteration_time_s)} "
            f"iteration ({share:.0%}) for the training thread (DeepSpeed's hooks, kernel launches, bookkeeping), so "
            f"its time follows that CPU core's speed: {HOST_SPREAD}. A larger micro-batch, fewer ZeRO-3 parameter "
            "fetches or a faster host core shorten it.")


def uncalibrated_line(hardware: HardwareProfile) -> str | None:
    """One sentence when the profile prices no host-thread time (HardwareProfile.prices_host_thread: no
    training run has calibrated it), saying what its predictions leave out and how to fit it (None otherwise)."""
    if hardware.prices_host_thread:
        return None
    return (f"Uncalibrated profile: {hardware.name} has no run-derived host terms, so DeepSpeed's host-thread time "
            "(per micro-batch, block pass, kernel launch and step) is priced at 0 and predicted times are short by "
            "it, most where the host paces the GPU (ZeRO-3, small micro-batches); the track record below comes from "
            "calibrated profiles" + ("; its host memory leaves out each process's own base (Python, torch, CUDA: "
                                     "1.8 GiB on the H200 nodes)" if not hardware.host_process_base_bytes else "")
            + ". Fit the terms from a few runs of your own: python -m mist_ds.calibrate RUN.json "
            f"[RUN.json ...] --hardware {hardware.name} (or its file) --out PROFILE.json, then pass "
            "--hardware PROFILE.json.")


def mistpipe_host_line(plan: Plan, hardware: HardwareProfile) -> str | None:
    """One sentence when a mistpipe plan is priced on a calibrated profile without mistpipe's own block-pass host
    term (mistpipe_layer_overhead_s unset; with mistpipe_microbatch_overhead_s unset too, the per-micro-batch one
    as well): the engine's host work then takes the stock terms (HardwareProfile.mistpipe_layer_s /
    mistpipe_microbatch_s), which on the H100 node (stock block-pass term 0) left such plans' host-paced forwards
    unpriced (session 50's traces and session 51's split by optimizer offload share, which the sentence cites). None
    otherwise, and on an uncalibrated profile, whose uncalibrated_line says more."""
    if (plan.executor != "mistpipe" or not hardware.prices_host_thread
            or hardware.mistpipe_layer_overhead_s is not None):
        return None
    own_microbatch = hardware.mistpipe_microbatch_overhead_s is not None
    work, terms, fit = (("block pass", "term (host_layer_overhead_s)", "mistpipe_layer_overhead_s") if own_microbatch
                        else ("micro-batch and block pass", "terms (host_microbatch_overhead_s, host_layer_overhead_s)",
                              "mistpipe_microbatch_overhead_s,mistpipe_layer_overhead_s"))
    return (f"mistpipe's host work per {work} takes {hardware.name}'s stock {terms}: the profile has no "
            "mistpipe-specific one. Where "
            "the GPU's passes are short (small blocks, micro-batch 1) the host may pace them beyond the prediction: "
            "on the H100 node every run of a plan offloading part of its optimizer state ran slower than priced, "
            "while plans offloading all of it ran on the price (bench/accuracy/offload_share.py, "
            "bench/results/runtime/h100_partial_S50/). Fit the terms from runs of mistpipe plans (on the H100 node's "
            "own runs the fit keeps the stock values and that gap): python -m mist_ds.calibrate RUN.json "
            f"[RUN.json ...] --hardware {hardware.name} --fit {fit} --out PROFILE.json.")


def cap_reserving_stages(plan: Plan, hardware: HardwareProfile) -> list[int]:
    """Stages whose predicted reserved memory (cost/reserved.py: the allocated peak plus the caching
    allocator's holes) reaches the cap: their allocator is expected to fill the cap, then free its cache
    and retry, synchronising the device each time."""
    from mist_ds.cost.reserved import predicted_reserved_bytes

    cap = memory_cap(plan, hardware)
    return [i for i, stage in enumerate(plan.prediction.stages)
            if predicted_reserved_bytes(plan, i, stage.peak_memory_bytes, hardware, cap) >= cap]


def allocator_retry_line(plan: Plan, hardware: HardwareProfile) -> str | None:
    """One sentence when a stage's predicted reserved memory reaches the cap (None otherwise)."""
    stages = cap_reserving_stages(plan, hardware)
    if not stages:
        return None
    which = f"stage {stages[0]} is" if len(stages) == 1 else f"stages {', '.join(map(str, stages))} are"
    return (f"Allocator at the cap: {which} predicted to need the whole "
            f"{bytes_text(memory_cap(plan, hardware))} once the caching allocator's holes are counted, so it will "
            f"free its cache and retry, synchronising the GPU each time ({RETRY_COST}; not in the predicted time). "
            "A smaller micro-batch or more recompute leaves room.")


def optimizer_path_lines(plan: Plan, hardware: HardwareProfile) -> list[str]:
    """For a mistpipe plan that offloads optimizer state: which path updates each stage's offloaded
    share and why (cost/mistpipe_step.py stage_optimizer_paths; ds_config.json's mistpipe section
    carries the same to the engine)."""
    if plan.executor != "mistpipe" or all(plan.stage_memory(i).offload_optimizer_ratio == 0
                                          for i in range(plan.num_stages)):
        return []
    from mist_ds.cost.mistpipe_step import stage_optimizer_paths

    lines = ["Offloaded optimizer update per stage (gpu_swap: Adam on the GPU over states streamed from "
             "host memory; cpu_adam: DeepSpeed's CPU Adam on the host):", ""]
    for index, (path, why) in enumerate(stage_optimizer_paths(plan, hardware)):
        lines.append(f"- stage {index}: {path}" + (f" ({why})" if why else ""))
    return lines + [""]


def track_record_line(plan: Plan, record: TrackRecord | None = None) -> str:
    """One sentence: how well the cost model predicted the committed GPU runs of plans of this plan's
    kind (config/track_record.py; `record` default: the shipped one), or that none has been run."""
    kind, kr = record_for(plan, record)
    if kr is None:
        return (f"Track record of {kind} plans: none has run on a GPU yet (bench/results/accuracy.md), so this "
                "prediction is untested on that kind of plan.")
    dates = kr.first_date if kr.first_date == kr.last_date else f"{kr.first_date} .. {kr.last_date}"
    text = (f"Track record of {kind} plans: {kr.runs} GPU run{'s' * (kr.runs != 1)} of {kr.plans} "
            f"plan{'s' * (kr.plans != 1)} ({', '.join(kr.gpus)}, {dates or 'undated'}), held out of every fit, "
            "re-predicted by this cost model")
    if kr.ok:
        text += (f": time off by {kr.time_median:.1%} (median), {kr.time_max:.1%} at most, "
                 f"{kr.slower_than_predicted} of {kr.ok} slower than predicted; peak memory (allocated) off by "
                 f"{kr.allocated_median:.1%} (median), {kr.allocated_max:.1%} at most")
    if kr.oom_predicted_to_fit:
        text += f"; {kr.oom_predicted_to_fit} ran out of memory although predicted to fit"
    return text + " (bench/results/accuracy.md)."


def expected_time_line(plan: Plan, hardware: HardwareProfile, record: TrackRecord | None = None) -> str | None:
    """One sentence: the seconds per iteration to expect, the prediction scaled by where the held-out runs of
    the plan's kind landed against theirs (config/track_record.py expected_time_range_s); None where the kind
    has no range (too few plans) or the profile is uncalibrated."""
    span = expected_time_range_s(plan, hardware, record)
    if span is None:
        return None
    kind, kr = record_for(plan, record)
    how = (f"10th-90th percentile of {kr.ok} runs of {kr.plans} plans, each plan weighted equally"
           if kr.time_ratio_span == "p10-p90" else f"the whole range of {kr.ok} runs of {kr.plans} plans")
    return (f"Expect {span[0]:.3g}-{span[1]:.3g} s/iter: the held-out runs of {kind} plans took "
            f"{kr.time_ratio_low:.2f}-{kr.time_ratio_high:.2f}x their predictions ({how}).")


def track_record_cell(plan: Plan, record: TrackRecord | None = None) -> str:
    """The top-plans tables' short form of track_record_line: the median / largest time error of the scored
    runs of the plan's kind and how many ('3%/24% (6)'), 'none trained (N)' when its N runs all failed, or
    'none run'."""
    _, kr = record_for(plan, record)
    if kr is None:
        return "none run"
    if kr.time_median is None:
        return f"none trained ({kr.runs})"
    return f"{kr.time_median:.0%}/{kr.time_max:.0%} ({kr.ok})"


def _winner(plan: Plan, hardware: HardwareProfile) -> list[str]:
    pred = plan.prediction
    return ["## Plan", "",
            f"**{plan.describe()}**, layers per stage {split_text(plan)}, recomputed layers per stage "
            f"{recompute_text(plan)}, activation-offloaded layers per stage {offload_text(plan)}.", "",
            f"Predicted: {seconds_text(pred.iteration_time_s)} per iteration, "
            f"{pred.throughput_tokens_per_s:,.0f} tokens/s, MFU {pred.mfu:.1%}, peak {bytes_text(peak_bytes(plan))} "
            "per GPU.", "", *_stage_tables(plan), *_optional(host_paced_line(plan)),
            *_optional(allocator_retry_line(plan, hardware)), *_optional(uncalibrated_line(hardware)),
            *_optional(mistpipe_host_line(plan, hardware)), *_optional(unmeasured_line(plan, hardware)),
            *_optional(expected_time_line(plan, hardware)), track_record_line(plan),
            ""]


def _optional(line: str | None) -> list[str]:
    return [] if line is None else [line, ""]


def table_units(plans: Sequence[Plan]) -> tuple[Unit, Unit]:
    """(time unit, memory unit) for a table of plans: chosen from the slowest and the largest, so every
    row of a column reads in one unit (use with in_unit)."""
    return (pick_unit(max(p.prediction.iteration_time_s for p in plans), TIME_UNITS),
            pick_unit(max(peak_bytes(p) for p in plans), MEMORY_UNITS))


def _top_k(plans: Sequence[Plan]) -> list[str]:
    best = plans[0].prediction.iteration_time_s
    clock, mem = table_units(plans)
    lines = ["## Top plans", "",
             f"| rank | setting | layers/stage | recompute | act offload | {clock.name}/iter | tokens/s | MFU | "
             f"peak {mem.name} per GPU | vs best | record |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for rank, plan in enumerate(plans, start=1):
        pred = plan.prediction
        lines.append(f"| {rank} | {plan.describe()} | {split_text(plan)} | {recompute_text(plan)} | "
                     f"{offload_text(plan)} | {in_unit(pred.iteration_time_s, clock)} | "
                     f"{pred.throughput_tokens_per_s:,.0f} | {pred.mfu:.1%} | {in_unit(peak_bytes(plan), mem)} | "
                     f"{pred.iteration_time_s / best - 1:+.1%} | {track_record_cell(plan)} |")
    return lines + ["", legend_line(), ""]


def _pacing_totals(plan: Plan) -> dict[str, float]:
    """Per-activity seconds of the stage that sets the pace (most compute + recompute + TP comm)."""
    stages = plan.prediction.stages
    pace = max(range(len(stages)), key=lambda i: stages[i].time_breakdown.compute_s
               + stages[i].time_breakdown.recompute_s + stages[i].time_breakdown.tp_comm_s)
    return {k: getattr(stages[pace].time_breakdown, k) for k in TIME_KINDS}


def _mesh(plan: Plan) -> tuple:
    return (plan.num_stages, plan.dp, plan.tp, plan.micro_batch_size, plan.memory.zero_stage)


def savings_text(plan: Plan) -> str:
    """The memory savings a plan uses, in words."""
    used, m = [], plan.memory
    if sum(s.num_recompute_layers for s in plan.stages):
        used.append(f"recomputes {sum(s.num_recompute_layers for s in plan.stages)} layers")
    if m.offload_weights_ratio:
        used.append("offloads the weights")
    if m.offload_optimizer_ratio:
        used.append(f"offloads {m.offload_optimizer_ratio:g} of the optimizer states and gradients")
    if any(s.num_offloaded_layers for s in plan.stages):
        used.append("offloads activations")
    return ", ".join(used) if used else "needs no recompute or offload"


def _why(plans: Sequence[Plan], hardware: HardwareProfile) -> list[str]:
    plan = plans[0]
    headroom = memory_cap(plan, hardware) - peak_bytes(plan)
    lines = ["## Why this plan", "",
             f"- Memory: it peaks at {bytes_text(peak_bytes(plan))} per GPU, {bytes_text(headroom)} under the cap, "
             f"and {savings_text(plan)}."]
    if len(plans) == 1:
        return lines + ["- No alternative is listed.", ""]
    others = [p for p in plans[1:] if _mesh(p) != _mesh(plan)]
    label = "The best listed plan with another mesh, micro-batch or ZeRO stage" if others else "The runner-up"
    other = (others or list(plans[1:]))[0]
    gap = other.prediction.iteration_time_s / plan.prediction.iteration_time_s - 1
    lines.append(f"- {label} ({other.describe()}, layers {split_text(other)}; it {savings_text(other)}) "
                 f"is {gap:.1%} slower.")
    mine, theirs = _pacing_totals(plan), _pacing_totals(other)
    diffs = sorted(((theirs[k] - mine[k], k) for k in TIME_KINDS), reverse=True)
    shown = 1e-3 * plan.prediction.iteration_time_s  # differences under 0.1% of an iteration are noise
    parts = [f"{k.removesuffix('_s')} {'+' if d > 0 else '-'}{seconds_text(abs(d))}" for d, k in diffs
             if abs(d) >= shown]
    if parts:
        lines.append("- On its pacing stage it spends, per iteration, vs this plan: " + ", ".join(parts) + ".")
    return lines + [""]


def hf_line(plan: Plan) -> str:
    """report.md's one line on the Hugging Face Trainer: where its files are, or why there are none."""
    reason = hf_trainer_blocker(plan)
    if reason is None:
        return ("Hugging Face Trainer / accelerate: `hf/` holds this plan's ds_config.json (HF conventions), "
                "training_args.json and accelerate.yaml (see hf/README.md).")
    return f"Hugging Face Trainer: this plan {reason}."


def report_markdown(plans: Sequence[Plan], hardware: HardwareProfile, stats: SearchStats | None = None,
                    host: HostLimits | None = None) -> str:
    """The whole report.md text for predicted `plans` (best first; deterministic: no timestamps).
    `host`: the request's host limits (TuneRequest.host_limits); None: the hardware profile's."""
    plan = plans[0]
    host = host or HostLimits.of(hardware, plan.cluster.gpus_per_node)
    lines = (_header(plan, hardware) + _winner(plan, hardware) + optimizer_path_lines(plan, hardware) + _top_k(plans)
             + _why(plans, hardware) + host_lines(plan, host))
    lines += ["## Run it", "",
              "`./launch.sh --steps 20 --report run.json` (DeepSpeed with this folder's hostfile, plan.json and "
              "ds_config.json); `python -m mist_ds.predict plan.json` prints the same prediction.", "",
              hf_line(plan), ""]
    if stats is not None:
        lines += ["## Search", "",
                  f"{stats.num_layouts} layouts (pipeline depth x mesh x micro-batch x ZeRO/offload), "
                  f"{stats.num_strategies} stage strategies screened by the cost model; exact layer split and "
                  "per-stage recompute by dynamic programming (mist_ds/search/partition.py); plans ranked by the "
                  "pipeline clock (mist_ds/cost/clock.py).", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
