"""Topic answers (data/answers.yml): text, the pages it rests on, checked / review_by dates, quick replies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from actions.datafile import DATA_DIR, DataFileError, EntryNamer, check_schema, field_name, line_of, read_yaml
from actions.schemas import ANSWERS_SCHEMA
from actions.sources import Source, as_date, source_from, source_problem

ANSWERS_FILE = DATA_DIR / "answers.yml"


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Answer:
    """The answer to one topical intent: text, the pages it rests on, when it was checked and is due again."""

    intent: str
    text: str
    sources: tuple[Source, ...]
    checked: date
    review_by: date
    buttons: tuple[Button, ...]
    variants: Mapping[str, Answer] = MappingProxyType({})

    @property
    def source_title(self) -> str:
        return self.sources[0].title or self.sources[0].url

    @property
    def source_url(self) -> str:
        return self.sources[0].url

    def with_source(self) -> str:
        """Answer text, its sources as Markdown links named by their site (short on phones), 'Stand: <checked>'."""
        names: list[str] = []
        links = []
        for src in self.sources:
            site = site_name(src.url)
            names.append(site)
            count = names.count(site)
            links.append(f"[{site}{f' ({count})' if count > 1 else ''}]({src.url})")
        label = "Quelle" if len(self.sources) == 1 else "Quellen"
        return f"{self.text}\n\n{label}: {', '.join(links)} (Stand: {self.checked:%d.%m.%Y})"

    def variant(self, name: str | None) -> Answer:
        """The variant ``name`` (e.g. tax_relief 'municipal'), or this answer."""
        return self.variants.get(name or "", self)

    def button_dicts(self) -> list[dict[str, str]]:
        return [button.as_dict() for button in self.buttons]

    def overdue(self, today: date) -> bool:
        return self.review_by < today


def site_name(url: str) -> str:
    """'https://www.ihk.de/regensburg/…' -> 'ihk.de' (the link text of a source)."""
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def _sources(path: Path, data: Any, where: tuple[str | int, ...], raw: list[Any], entry: str) -> tuple[Source, ...]:
    for index, item in enumerate(raw):
        problem = source_problem(item)
        if problem is not None:
            key, message = problem
            raise DataFileError(
                path,
                message,
                entry=entry,
                field=field_name((*where[2:], index, key)),
                line=line_of(data, (*where, index, key)),
            )
    return tuple(source_from(item) for item in raw)


def _date(path: Path, data: Any, intent: str, raw: Mapping[str, Any], key: str) -> date:
    value = as_date(raw[key])
    if value is None:
        raise DataFileError(
            path,
            f"{raw[key]!r} is not a date (YYYY-MM-DD)",
            entry=intent,
            field=key,
            line=line_of(data, ("answers", intent, key)),
        )
    return value


def _build(path: Path, data: Any) -> Mapping[str, Answer]:
    check_schema(path, data, ANSWERS_SCHEMA, EntryNamer("answers"))
    answers: dict[str, Answer] = {}
    for intent, raw in data["answers"].items():
        checked = _date(path, data, intent, raw, "checked")
        review_by = _date(path, data, intent, raw, "review_by")
        if review_by < checked:
            raise DataFileError(
                path,
                "review_by lies before the date the answer was checked",
                entry=intent,
                field="review_by",
                line=line_of(data, ("answers", intent, "review_by")),
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
        buttons = tuple(Button(str(b["title"]), str(b["payload"])) for b in raw["buttons"])
        variants = {
            name: Answer(
                intent=intent,
                text=" ".join(str(var["text"]).split()),
                sources=_sources(path, data, ("answers", intent, "variants", name, "sources"), var["sources"], intent),
                checked=checked,
                review_by=review_by,
                buttons=buttons,
            )
            for name, var in (raw.get("variants") or {}).items()
        }
        answers[intent] = Answer(
            intent=intent,
            text=" ".join(str(raw["text"]).split()),
            sources=_sources(path, data, ("answers", intent, "sources"), raw["sources"], intent),
            checked=checked,
            review_by=review_by,
            buttons=buttons,
            variants=MappingProxyType(variants),
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
