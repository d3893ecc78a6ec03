"""The instruction stream mistpipe executes (pure: no processes), and that the engine maps every
instruction it can meet."""

from __future__ import annotations

import pytest
from deepspeed.runtime.pipe import schedule as ds

from mist_ds.runtime.mistpipe.engine import MistPipeEngine
from mist_ds.runtime.mistpipe.schedule import (MistTrainSchedule, ReduceScatterGrads,
                                               ShardedOptimizerStep, instruction_stream)

SHAPES = [(1, 1, 0), (4, 1, 0), (4, 2, 0), (4, 2, 1), (8, 4, 0), (8, 4, 2), (8, 4, 3), (2, 4, 1)]


def flat(stream):
    return [cmd for step in stream for cmd in step]


@pytest.mark.parametrize("micro_batches,stages,stage_id", SHAPES)
def test_one_reduction_and_one_step_after_the_last_backward(micro_batches, stages, stage_id):
    stream = instruction_stream(micro_batches, stages, stage_id)
    kinds = [type(cmd) for cmd in flat(stream)]
    assert kinds.count(ReduceScatterGrads) == kinds.count(ShardedOptimizerStep) == 1
    assert ds.ReduceGrads not in kinds and ds.OptimizerStep not in kinds
    assert kinds[-3:] == [ds.ReduceTiedGrads, ReduceScatterGrads, ShardedOptimizerStep]
    last_backward = max(i for i, kind in enumerate(kinds) if kind is ds.BackwardPass)
    assert last_backward < kinds.index(ReduceScatterGrads)


@pytest.mark.parametrize("micro_batches,stages,stage_id", SHAPES)
def test_every_micro_batch_runs_forward_then_backward_within_the_buffer_bound(
        micro_batches, stages, stage_id):
    schedule = MistTrainSchedule(micro_batches=micro_batches, stages=stages, stage_id=stage_id)
    in_flight, peak, forwards, backwards = [], 0, 0, 0
    for cmd in flat(schedule):
        if isinstance(cmd, ds.ForwardPass):
            assert cmd.buffer_id not in in_flight  # a buffer is reused only after its backward
            in_flight.append(cmd.buffer_id)
            forwards += 1
        elif isinstance(cmd, ds.BackwardPass):
            assert in_flight.pop(0) == cmd.buffer_id  # 1F1B: oldest micro-batch first
            backwards += 1
        peak = max(peak, len(in_flight))
    assert forwards == backwards == micro_batches and not in_flight
    assert peak <= schedule.num_pipe_buffers()
    assert peak == min(stages - stage_id, micro_batches)


@pytest.mark.parametrize("micro_batches,stages,stage_id", SHAPES)
def test_the_stream_is_deepspeeds_with_the_end_of_batch_replaced(micro_batches, stages, stage_id):
    ours = instruction_stream(micro_batches, stages, stage_id)
    stock = list(ds.TrainSchedule(micro_batches=micro_batches, stages=stages, stage_id=stage_id))
    swap = {ds.ReduceGrads: ReduceScatterGrads, ds.OptimizerStep: ShardedOptimizerStep}
    assert [[(swap.get(type(c), type(c)), c.kwargs) for c in step] for step in stock] == \
        [[(type(c), c.kwargs) for c in step] for step in ours]


def test_the_engine_executes_every_instruction_of_the_stream():
    kinds = {type(cmd) for shape in SHAPES for cmd in flat(instruction_stream(*shape))}
    assert kinds <= set(MistPipeEngine._INSTRUCTION_MAP)
    assert ds.ReduceGrads not in MistPipeEngine._INSTRUCTION_MAP  # a stock step would be an error
    assert ds.OptimizerStep not in MistPipeEngine._INSTRUCTION_MAP
