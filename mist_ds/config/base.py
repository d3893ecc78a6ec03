"""The one pydantic base every mist_ds schema derives from."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer

M = TypeVar("M", bound="StrictModel")


class StrictModel(BaseModel):
    """Frozen, extra-forbidding base; field docstrings become field descriptions."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        use_attribute_docstrings=True,
        validate_default=True,
    )
    OMITTED_AT_DEFAULT: ClassVar[tuple[str, ...]] = ()
    """Fields left out of the JSON while they hold their default, so a file written before such a field
    existed is rewritten byte for byte and keeps its content hash."""

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler):
        data = handler(self)
        for name in self.OMITTED_AT_DEFAULT:
            if getattr(self, name) == type(self).model_fields[name].default:
                data.pop(name, None)
        return data

    def to_json(self) -> str:
        """Canonical JSON text: stable key order, two-space indent, trailing newline."""
        return self.model_dump_json(indent=2) + "\n"

    def content_hash(self) -> str:
        """Short sha256 of the canonical JSON: identifies a plan or profile in reports."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @classmethod
    def from_json_text(cls: type[M], text: str) -> M:
        """Parse and validate JSON text (lenient on JSON-native types, e.g. int for float)."""
        return cls.model_validate(json.loads(text), strict=False)

    @classmethod
    def load(cls: type[M], path: str | Path) -> M:
        """Read and validate a JSON file."""
        return cls.from_json_text(Path(path).read_text())

    @classmethod
    def load_checked(cls: type[M], path: str | Path, what: str = "") -> M:
        """load(), with every failure turned into a one-line ValueError naming the file."""
        what = what or cls.__name__
        try:
            return cls.load(path)
        except FileNotFoundError:
            raise ValueError(f"{what} file {path} does not exist") from None
        except IsADirectoryError:
            raise ValueError(f"{path} is a directory, not a {what} file") from None
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON: {err.msg} (line {err.lineno})") from None
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or what
            msg = first["msg"].removeprefix("Value error, ")
            raise ValueError(f"invalid {what} {path}: {where}: {msg}") from None
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"cannot read {what} {path}: {err}") from None

    def save(self, path: str | Path) -> None:
        """Write canonical JSON atomically (temp file in the same folder, then rename)."""
        from mist_ds.fileio import write_text_atomic

        write_text_atomic(Path(path), self.to_json())
