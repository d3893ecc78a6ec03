"""Shared flow of the scripts that set a profile's fields to the medians of several profiler runs' raw files
(bench/accuracy/cpu_step_profile.py, bench/accuracy/interference_profile.py): read the raw files and the profile,
then --check (exit 1 where the profile differs) or write the fields and a provenance sentence that starts with the
script's mark (replacing that script's earlier sentence, leaving the other scripts' sentences). Unreadable files or
raw files without the fields: one line, exit 2. No GPU needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from mist_ds.config.hardware import HardwareProfile

# Every script's mark: a sentence runs from its mark to the next mark or the end of the notes.
MARKS = (" Host step (bench/accuracy/cpu_step_profile.py):",
         " Interference (bench/accuracy/interference_profile.py):")


def replace_sentence(notes: str, mark: str, sentence: str) -> str:
    """`notes` with the sentence that starts with `mark` (up to the next mark or the end) replaced by `sentence`
    (which starts with `mark`); appended where there is none."""
    if mark not in notes:
        return notes + sentence
    head, tail = notes.split(mark, 1)
    ends = [tail.find(m) for m in MARKS if m != mark and m in tail]
    return head + sentence + (tail[min(ends):] if ends else "")


def _jsonable(value):
    """A field's value as the profile's JSON holds it (tuples of schema models: lists of their dumps)."""
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value.model_dump() if hasattr(value, "model_dump") else value


def run(argv: list[str] | None, doc: str, prog: str, combined: Callable[[list[dict]], tuple[dict, dict]],
        differs: Callable[[HardwareProfile, dict], list[str]], note: Callable[[list[str], dict, dict], str],
        mark: str) -> int:
    """The command line of one such script: `combined(raws)` gives (fields by name, counts), `differs(profile, fields)`
    the names of the fields the profile does not match, `note(paths, fields, counts)` the sentence (from `mark`)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("profile")
    parser.add_argument("raws", nargs="+")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    try:
        raws = [json.loads(Path(p).read_text()) for p in args.raws]
        fields, counts = combined(raws)
        profile = HardwareProfile.model_validate_json(Path(args.profile).read_text())
    except (OSError, ValueError) as err:
        print(f"{prog}: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, AttributeError) as err:  # a raw file of another shape
        print(f"{prog}: a raw file lacks a measurement's fields ({type(err).__name__}: {err})", file=sys.stderr)
        return 2
    if args.check:
        wrong = differs(profile, fields)
        print(f"{args.profile}: " + (f"differs in {', '.join(wrong)}" if wrong else "matches the raw files"))
        return 1 if wrong else 0
    data = json.loads(Path(args.profile).read_text())  # edited as JSON: every other field keeps its text
    data.update({name: _jsonable(value) for name, value in fields.items()})
    sentence = note(args.raws, fields, counts)
    data["provenance"]["notes"] = replace_sentence(profile.provenance.notes, mark, sentence)
    HardwareProfile.model_validate_json(json.dumps(data))
    Path(args.profile).write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {args.profile}: " + sentence.strip())
    return 0
