"""Sources of content facts: the page a fact was read on, when it was read and the page's own date.

Rule (docs/content.md): every value shown to users comes from a specific public page, stored with its URL and
the date it was read (``retrieved``); ``as_of`` is the date the page itself states, when it states one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

#: A page whose own date lies further back than this is "old": shown with a hint to check the linked page.
OLD_PAGE_YEARS = 3
#: ``make validate`` warns when a source was read longer ago than this (KRISENLOTSE_SOURCE_MAX_AGE_DAYS).
DEFAULT_MAX_AGE_DAYS = 180


def as_date(value: Any) -> date | None:
    """A YAML date or an ISO 'YYYY-MM-DD' string as a date; None for anything else."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def max_age_days(environ: dict[str, str] | None = None) -> int:
    """Age (days since ``retrieved``) above which ``make validate`` warns."""
    raw = (environ if environ is not None else os.environ).get("KRISENLOTSE_SOURCE_MAX_AGE_DAYS", "")
    try:
        return max(1, int(raw)) if raw.strip() else DEFAULT_MAX_AGE_DAYS
    except ValueError:
        return DEFAULT_MAX_AGE_DAYS


def is_page_url(url: str) -> bool:
    """True for an http(s) URL of a specific page: a host and a path beyond '/' (or a query naming the page)."""
    parts = urlsplit(url)
    specific = parts.path.strip("/") != "" or parts.query != ""
    return parts.scheme in ("http", "https") and bool(parts.netloc) and specific


@dataclass(frozen=True)
class Source:
    """Where one fact was read."""

    url: str
    retrieved: date
    as_of: date | None = None
    title: str | None = None

    def is_old(self, today: date) -> bool:
        """True when the page's own date is more than OLD_PAGE_YEARS years before ``today``."""
        if self.as_of is None:
            return False
        try:
            limit = today.replace(year=today.year - OLD_PAGE_YEARS)
        except ValueError:  # 29 February
            limit = today.replace(year=today.year - OLD_PAGE_YEARS, day=28)
        return self.as_of < limit

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"url": self.url, "retrieved": self.retrieved.isoformat()}
        if self.as_of is not None:
            data["as_of"] = self.as_of.isoformat()
        if self.title:
            data["title"] = self.title
        return data


def source_problem(raw: Mapping[str, Any]) -> tuple[str, str] | None:
    """(key, message) for the first thing wrong with a source entry of a data file, or None.

    The schema has already checked the keys; this checks the dates and that the URL names a page."""
    for key in ("retrieved", "as_of"):
        if key in raw and as_date(raw[key]) is None:
            return key, f"{raw[key]!r} is not a date (YYYY-MM-DD)"
    if not is_page_url(str(raw["url"])):
        return "url", "must be the URL of a specific page, not a domain root"
    return None


def source_from(raw: Mapping[str, Any]) -> Source:
    """The Source of an entry that ``source_problem`` found no fault with."""
    retrieved = as_date(raw["retrieved"])
    assert retrieved is not None  # checked by source_problem
    return Source(
        url=str(raw["url"]),
        retrieved=retrieved,
        as_of=as_date(raw["as_of"]) if "as_of" in raw else None,
        title=raw.get("title"),
    )
