"""Launched on 2 CPU ranks by test_zero3_gathered_cpu.py: for each DeepSpeed setting of a case, train
an 8-block GPT under ZeRO-3 (weights offloaded; each submodule or each block a fetch unit) for a few micro-batches and record, after the last
forward and before its backward, how many parameter elements DeepSpeed holds gathered (ds_status not
NOT_AVAILABLE), beside the block, end and model sizes the cost model's gathered_elements takes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from mist_ds.config import ModelSpec  # noqa: E402
from mist_ds.emit.ds_config import build_ds_config  # noqa: E402
from mist_ds.runtime import build as eng  # noqa: E402
from mist_ds.runtime.rank import finish  # noqa: E402
from tests.runtime.plans import make_plan  # noqa: E402

GPT8 = ModelSpec(name="tiny-gpt8", family="gpt", num_layers=8, hidden_size=32, num_heads=4, num_kv_heads=4,
                 ffn_hidden_size=64, vocab_size=256, max_seq_len=64, tie_embeddings=True, norm="layernorm",
                 activation="gelu", position_embedding="learned", linear_bias=True)
MICRO_BATCHES = 4  # the trace is recorded in the first, complete from the second


def gathered_at_turn(reuse: int, prefetch: int, live: int, unit: str = "module") -> dict:
    plan = make_plan(GPT8, [{"end": GPT8.num_layers}], dp=2, zero_stage=3, offload_weights=1.0,
                     offload_optimizer=1.0, zero3_fetch_unit=unit)
    config = build_ds_config(plan, "fp32")
    config["zero_optimization"].update(stage3_max_reuse_distance=reuse, stage3_prefetch_bucket_size=prefetch,
                                       stage3_max_live_parameters=live, stage3_param_persistence_threshold=0)
    rt = eng.build_runtime(plan, int(dist.get_rank()), "fp32", seed=1234, ds_config=config)
    module = rt.engine.module
    gen = torch.Generator().manual_seed(0)
    for _ in range(MICRO_BATCHES):
        tokens = torch.randint(0, GPT8.vocab_size, (plan.micro_batch_size, plan.seq_len), generator=gen)
        loss = rt.engine(tokens, tokens.clone())
        held = sum(p.ds_numel for p in module.parameters() if p.ds_status.name != "NOT_AVAILABLE")
        rt.engine.backward(loss)
        rt.engine.step()
    numel = lambda m: sum(p.ds_numel for p in m.parameters())  # noqa: E731
    result = {"held": held, "per_layer": numel(module.blocks[0]), "layers": len(module.blocks),
              "ends": max(numel(module.embed), numel(module.norm)), "params": numel(module),
              "largest_param": max(p.ds_numel for p in module.parameters())}
    rt.engine.destroy()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--settings", required=True, help="JSON list of [reuse, prefetch, live, fetch unit]")
    parser.add_argument("--local_rank", type=int, default=0)
    args = parser.parse_args()
    eng.init_distributed()
    results = [gathered_at_turn(*setting) for setting in json.loads(args.settings)]
    if dist.get_rank() == 0:
        Path(args.out).write_text(json.dumps(results, indent=1))
    finish(0)


if __name__ == "__main__":
    main()
