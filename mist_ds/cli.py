"""Shared CLI plumbing: turn user errors into one stderr line and exit code 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from pydantic import ValidationError

EXIT_USAGE = 2
EXIT_INFEASIBLE = 3


class UserError(Exception):
    """A mistake in what the user asked for: reported as one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports errors as a single line (no usage dump) and exits 2."""

    def error(self, message: str) -> NoReturn:
        fail(f"{self.prog}: {message}")


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print `message` as one line on stderr and exit."""
    sys.stderr.write(" ".join(str(message).split()) + "\n")
    raise SystemExit(code)


def validation_message(err: ValidationError) -> str:
    """The first pydantic error as 'field: message' (no URLs, no tracebacks)."""
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> NoReturn:
    """Run `main`, mapping UserError/ValueError/ValidationError to one line and exit 2."""
    try:
        code = main(argv)
    except ValidationError as err:
        fail(f"error: {validation_message(err)}")
    except (UserError, ValueError, FileNotFoundError) as err:
        fail(f"error: {err}")
    except KeyboardInterrupt:
        fail("interrupted", 130)
    raise SystemExit(code)
