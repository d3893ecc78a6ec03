"""What the table-writing analysis scripts share: the UTC minute they stamp a table with, and --write's output."""

from __future__ import annotations

import datetime
from pathlib import Path


def utc_minute() -> str:
    """Now, as the tables' header gives it ('2026-12-05 14:50 UTC')."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def publish(text: str, path: Path | None) -> int:
    """Write `text` to `path` (when given) and print it; the script's exit status (0)."""
    if path:
        path.write_text(text)
    print(text, end="")
    return 0
