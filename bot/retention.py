"""Retention: conversations idle for longer than KRISENLOTSE_RETENTION_DAYS are deleted, in the web app's
store and in Rasa's tracker database (hourly background task and ``python -m bot purge``)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import tracker_db
from bot.cases import CaseStore
from bot.models import utcnow
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeResult:
    conversations: int
    tracker_rows: int | None  # None: no tracker database configured or found
    cases: int = 0


async def purge(store: Store, config: Settings, now: datetime | None = None,
                cases: CaseStore | None = None) -> PurgeResult:
    """Delete everything older than the retention period, once (resolved cases after
    KRISENLOTSE_CASE_RETENTION_DAYS)."""
    removed_cases: list[str] = []
    if cases is not None:
        removed_cases = await cases.purge_resolved((now or utcnow()) - timedelta(days=config.case_retention_days))
        if removed_cases:
            log.info("Retention: deleted %d resolved cases", len(removed_cases))
    cutoff = (now or utcnow()) - timedelta(days=config.retention_days)
    removed = await store.purge(cutoff)
    rows = await tracker_db.purge_idle(config.rasa_tracker_db, cutoff.timestamp())
    if removed or rows:
        log.info("Retention: deleted %d conversations and %s tracker rows idle since before %s",
                 len(removed), rows if rows is not None else "no", cutoff.date().isoformat())
    return PurgeResult(conversations=len(removed), tracker_rows=rows, cases=len(removed_cases))


async def purge_loop(store: Store, config: Settings, interval: float, cases: CaseStore | None = None) -> None:
    """Purge now and then every ``interval`` seconds until cancelled; errors are logged, not fatal."""
    while True:
        try:
            await purge(store, config, cases=cases)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Retention purge failed; trying again in %.0f s", interval)
        await asyncio.sleep(interval)
