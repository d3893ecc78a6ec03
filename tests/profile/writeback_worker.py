"""One rank of the profiler's writeback section on CPU (gloo): tests/profile/test_profile_writeback.py."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mist_ds.profile.writeback import staged_upload  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--local_rank", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    dist.init_process_group("gloo")
    records = staged_upload(torch.device("cpu"), dist.get_world_size(), 2, 2, lambda: None, elements=2**20)
    if dist.get_rank() == 0:
        Path(args.out).write_text(json.dumps(records))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
