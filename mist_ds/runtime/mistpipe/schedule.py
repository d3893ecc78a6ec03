"""The instruction stream mistpipe executes: DeepSpeed's 1F1B `TrainSchedule` (runtime/pipe/
schedule.py) with its end-of-batch reduction and step replaced by ours. Data, like DeepSpeed's:
tested without processes (tests/runtime/test_mistpipe_schedule.py)."""

from __future__ import annotations

from deepspeed.runtime.pipe import schedule as ds_schedule


class ReduceScatterGrads(ds_schedule.PipeInstruction):
    """Reduce every unit's gradients, accumulated locally over all micro-batches, over the stage's
    data-parallel group: one reduce-scatter (ZeRO >= 1) or all-reduce (ZeRO-0) per iteration."""


class ShardedOptimizerStep(ds_schedule.PipeInstruction):
    """Clip by the global norm, run Adam on this rank's shards (device and host parts) and publish
    the new 16-bit weights (all-gathered, or written to the ZeRO-3 store)."""


REPLACED = {ds_schedule.ReduceGrads: ReduceScatterGrads, ds_schedule.OptimizerStep: ShardedOptimizerStep}


class MistTrainSchedule(ds_schedule.TrainSchedule):
    """DeepSpeed's TrainSchedule with ReduceGrads -> ReduceScatterGrads and OptimizerStep ->
    ShardedOptimizerStep; forward, backward, p2p and tied-gradient instructions are DeepSpeed's."""

    def steps(self):
        for cmds in super().steps():
            yield [REPLACED[type(cmd)]() if type(cmd) in REPLACED else cmd for cmd in cmds]


def instruction_stream(micro_batches: int, stages: int, stage_id: int) -> list[list]:
    """Every step's instructions for one stage (for tests and the schedule docs)."""
    return list(MistTrainSchedule(micro_batches=micro_batches, stages=stages, stage_id=stage_id))
