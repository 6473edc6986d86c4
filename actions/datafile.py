"""Loading YAML data files with line numbers and reporting errors with file, entry, field and line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

PathItem = str | int


class DataFileError(ValueError):
    """A data file is broken: names the file, the entry, the field and the line (1-based)."""

    def __init__(
        self,
        file: Path | str,
        message: str,
        entry: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = str(file)
        self.entry = entry
        self.field = field
        self.line = line
        self.message = message
        where = self.file + (f", line {line}" if line else "")
        what = ", ".join(
            part
            for part in (f"entry '{entry}'" if entry else "", f"field '{field}'" if field else "")
            if part
        )
        super().__init__(f"{where}: {what + ': ' if what else ''}{message}")


def read_yaml(path: Path) -> Any:
    """Round-trip load (keeps line info); syntax errors and duplicate keys become DataFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(path, f"cannot read file ({exc.strerror or exc})") from exc
    try:
        return YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise DataFileError(path, f"YAML syntax error: {problem}", line=line) from exc
    except YAMLError as exc:
        raise DataFileError(path, f"YAML syntax error: {exc}") from exc
    except ValueError as exc:  # e.g. an impossible date such as 2026-12-32, which YAML reads as a timestamp
        raise DataFileError(path, f"invalid value ({exc}); dates are written YYYY-MM-DD") from exc


def line_of(root: Any, path: Sequence[PathItem]) -> int | None:
    """1-based line of the deepest node on ``path`` that ruamel.yaml knows a position for."""
    line: int | None = None
    node = root
    for key in path:
        try:
            if isinstance(node, CommentedMap) and key in node:
                line = node.lc.key(key)[0] + 1
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
                line = node.lc.item(key)[0] + 1
            else:
                break
            node = node[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    if line is None and isinstance(node, (CommentedMap, CommentedSeq)):
        line = node.lc.line + 1
    return line


def field_name(parts: Iterable[PathItem]) -> str:
    """('opening_hours', 'mon', 0, 1) -> 'opening_hours.mon[0][1]'."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(error: ValidationError) -> tuple[list[PathItem], str]:
    """Path (including a missing/unknown key) and a readable message for a schema error."""
    path: list[PathItem] = list(error.absolute_path)
    if "propertyNames" in error.relative_schema_path or "propertyNames" in error.schema_path:
        # the error is about a key: point at the key itself
        return path + [error.instance], f"unknown key {error.instance!r} (expected {_expected(error)})"
    if error.validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        return path + missing[:1], "missing (required)" if missing else error.message
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in error.instance if k not in allowed)
        return path + extra[:1], f"unknown field (allowed: {', '.join(sorted(allowed))})"
    if error.validator in ("pattern", "enum") and error.schema.get("description"):
        return path, f"{error.instance!r} is not {error.schema['description']}"
    return path, error.message


def _expected(error: ValidationError) -> str:
    return str(error.schema.get("description") or error.message)


def check_schema(path: Path, data: Any, schema: dict[str, Any], entry_of: EntryNamer) -> None:
    """Validate ``data`` against a JSON schema; raise a DataFileError for the first error in the file."""
    errors = list(Draft7Validator(schema).iter_errors(data))
    if not errors:
        return
    described = []
    for error in errors:
        where, message = _describe(error)
        described.append((line_of(data, where) or 0, where, message))
    described.sort(key=lambda item: (item[0], -len(item[1])))
    line, where, message = described[0]
    entry, field = entry_of(data, where)
    more = f" ({len(described) - 1} more error(s) in this file)" if len(described) > 1 else ""
    raise DataFileError(path, message + more, entry=entry, field=field, line=line or None)


class EntryNamer:
    """Splits a data path into (entry, field): the first ``depth`` items name the entry."""

    def __init__(self, section: str, keyed_by: str | None = None) -> None:
        self.section = section
        self.keyed_by = keyed_by

    def __call__(self, data: Any, where: Sequence[PathItem]) -> tuple[str | None, str | None]:
        if not where:
            return None, None
        if where[0] != self.section or len(where) == 1:
            return None, field_name(where)
        key = where[1]
        entry = str(key)
        if isinstance(key, int):
            entry = f"{self.section}[{key}]"
            try:
                label = data[self.section][key].get(self.keyed_by) if self.keyed_by else None
            except (AttributeError, IndexError, KeyError, TypeError):
                label = None
            if label:
                entry += f" ({self.keyed_by}: {label})"
        return entry, field_name(where[2:]) or None
