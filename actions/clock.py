"""The current time in Europe/Berlin (a separate module so tests can monkeypatch ``now``)."""

from __future__ import annotations

from datetime import datetime

from actions.directory import berlin


def now() -> datetime:
    """Current time in Europe/Berlin."""
    return datetime.now(berlin())
