"""Shared CLI plumbing: the one UserError, and the one way a CLI ends on an error (one stderr line,
exit code 2 for bad input, 3 for a request nothing can satisfy)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from pydantic import ValidationError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INFEASIBLE = 3
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A mistake in what the user asked for (exit code 2), or a well-formed request that nothing can
    satisfy (raise with code=EXIT_INFEASIBLE): reported as one line, never as a traceback."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code
        """The exit code the CLI ends with."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports errors as a single line (no usage dump) and exits 2."""

    def error(self, message: str) -> NoReturn:
        fail(f"{self.prog}: {message}")


def one_line(message: object) -> str:
    """`message` with every run of whitespace (newlines included) folded into one space."""
    return " ".join(str(message).split())


def report(message: object, code: int) -> int:
    """Write `message` as one line on stderr; return `code`."""
    sys.stderr.write(one_line(message) + "\n")
    sys.stderr.flush()
    return code


def fail(message: object, code: int = EXIT_USAGE) -> NoReturn:
    """Print `message` as one line on stderr and exit with `code`."""
    raise SystemExit(report(message, code))


def validation_message(err: ValidationError) -> str:
    """The first pydantic error as 'field: message' (no URLs, no tracebacks)."""
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def exit_code(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Run `main(argv)` and return its exit code instead of raising: UserError -> its code,
    ValidationError / ValueError / OSError -> 2, each as one stderr line; an argparse exit
    (OneLineParser.error, --help) -> its code. CLIs' `main()` return this, so that an in-process
    caller (tests) gets the code without catching anything; unexpected exceptions (bugs) still raise."""
    try:
        return int(main(argv) or EXIT_OK)
    except SystemExit as err:
        if err.code is None or isinstance(err.code, int):
            return err.code or EXIT_OK
        return report(err.code, EXIT_USAGE)
    except ValidationError as err:
        return report(f"error: {validation_message(err)}", EXIT_USAGE)
    except UserError as err:
        return report(f"error: {err}", err.code)
    except (ValueError, OSError) as err:
        return report(f"error: {err}", EXIT_USAGE)
    except KeyboardInterrupt:
        return report("interrupted", EXIT_INTERRUPTED)


def run_cli(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> NoReturn:
    """Process entry: exit with exit_code(main, argv)."""
    raise SystemExit(exit_code(main, argv))


# ----- the `mist-ds` console script -----------------------------------------------------------------

COMMANDS = {
    "autotune": "mist_ds.autotune", "predict": "mist_ds.predict", "compare": "mist_ds.compare",
    "profile": "mist_ds.profile.__main__", "calibrate": "mist_ds.calibrate", "run": "mist_ds.run",
}
"""`mist-ds NAME ...` -> the module whose main(argv) runs it (each also runs as `python -m MODULE`)."""


def console_main(argv: Sequence[str] | None = None) -> int:
    """`mist-ds autotune|predict|compare|profile|calibrate|run ARGS`: the same CLIs as `python -m
    mist_ds.NAME ARGS`; returns the command's exit code (unknown command or one this install lacks:
    one line, exit 2)."""
    import importlib

    args = list(sys.argv[1:] if argv is None else argv)
    names = "|".join(COMMANDS)
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(f"usage: mist-ds {{{names}}} [ARGS]   (mist-ds NAME --help for each)\n")
        return EXIT_OK if args else EXIT_USAGE
    module = COMMANDS.get(args[0])
    if module is None:
        return report(f"mist-ds: unknown command '{args[0]}'; one of {names}", EXIT_USAGE)
    try:
        command = importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module:
            raise
        return report(f"mist-ds {args[0]}: not available in this version of mist_ds (no {module} module)",
                      EXIT_USAGE)
    return exit_code(command.main, args[1:])
