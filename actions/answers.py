"""Topic answers (data/answers.yml): text, official source, date checked and quick replies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from actions.datafile import DATA_DIR, DataFileError, EntryNamer, check_schema, line_of, read_yaml
from actions.schemas import ANSWERS_SCHEMA

ANSWERS_FILE = DATA_DIR / "answers.yml"


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Answer:
    """The answer to one topical intent."""

    intent: str
    text: str
    source_title: str
    source_url: str
    checked: date
    buttons: tuple[Button, ...]

    def with_source(self) -> str:
        """Answer text followed by the source line in Markdown."""
        return (
            f"{self.text}\n\nQuelle: [{self.source_title}]({self.source_url}) "
            f"(Stand: {self.checked:%d.%m.%Y})"
        )

    def button_dicts(self) -> list[dict[str, str]]:
        return [button.as_dict() for button in self.buttons]


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _build(path: Path, data: Any) -> Mapping[str, Answer]:
    check_schema(path, data, ANSWERS_SCHEMA, EntryNamer("answers"))
    answers: dict[str, Answer] = {}
    for intent, raw in data["answers"].items():
        checked = _as_date(raw["checked"])
        if checked is None:
            raise DataFileError(
                path,
                f"{raw['checked']!r} is not a date (YYYY-MM-DD)",
                entry=intent,
                field="checked",
                line=line_of(data, ("answers", intent, "checked")),
            )
        for index, button in enumerate(raw["buttons"]):
            if button["payload"] == f"/{intent}":
                raise DataFileError(
                    path,
                    "button points to its own topic",
                    entry=intent,
                    field=f"buttons[{index}].payload",
                    line=line_of(data, ("answers", intent, "buttons", index)),
                )
        answers[intent] = Answer(
            intent=intent,
            text=" ".join(str(raw["text"]).split()),
            source_title=str(raw["source"]["title"]),
            source_url=str(raw["source"]["url"]),
            checked=checked,
            buttons=tuple(Button(str(b["title"]), str(b["payload"])) for b in raw["buttons"]),
        )
    return MappingProxyType(answers)


@lru_cache(maxsize=16)
def _load_cached(path: Path, _mtime_ns: int) -> Mapping[str, Answer]:
    return _build(path, read_yaml(path))


def load_answers(path: Path | str | None = None) -> Mapping[str, Answer]:
    """Load and validate data/answers.yml (or ``path``); cached until the file changes."""
    resolved = Path(path or ANSWERS_FILE).resolve()
    try:
        mtime = resolved.stat().st_mtime_ns
    except OSError as exc:
        raise DataFileError(resolved, f"cannot read file ({exc.strerror or exc})") from exc
    return _load_cached(resolved, mtime)
