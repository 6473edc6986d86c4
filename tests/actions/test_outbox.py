"""actions/outbox.py: the local SQLite outbox of cases (persist first, keep until acknowledged)."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from actions.outbox import (
    DEFAULT_PATH,
    KEPT_AFTER_DELIVERY,
    DuplicateCase,
    Outbox,
    OutboxError,
    path_from_env,
)


def case(number: str = "KL-7H3K-Q9PX") -> dict[str, Any]:
    return {
        "case_number": number,
        "unit": "business_development",
        "priority": "high",
        "trigger": "urgent",
        "contact": {"name": "Anna Schmidt", "email": "anna@mueller-bau.de", "phone": None},
        "description": "Wir können die Löhne nicht zahlen.",
        "expected_response_by": "2026-11-25T11:00:00+01:00",
        "created_at": "2026-11-24T10:00:00+01:00",
    }


async def test_add_creates_folder_and_private_file_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "var" / "outbox.db"
    outbox = Outbox(path)
    await outbox.add(case())
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    entry = await outbox.get("KL-7H3K-Q9PX")
    assert entry is not None
    assert (entry.status, entry.attempts, entry.payload) == ("pending", 0, case())


async def test_a_stored_case_survives_a_new_outbox_object(tmp_path: Path) -> None:
    await Outbox(tmp_path / "outbox.db").add(case())
    entry = await Outbox(tmp_path / "outbox.db").get("KL-7H3K-Q9PX")
    assert entry is not None and entry.status == "pending"
    assert await Outbox(tmp_path / "outbox.db").counts() == {"pending": 1, "delivered": 0, "failed": 0}


async def test_duplicate_case_number_is_refused(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    await outbox.add(case())
    with pytest.raises(DuplicateCase):
        await outbox.add(case())


async def test_claim_due_leases_entries(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    now = time.time()
    await outbox.add(case("KL-AAAA-AAAA"), next_attempt_at=now - 1)
    await outbox.add(case("KL-BBBB-BBBB"), next_attempt_at=now + 60)
    due = await outbox.claim_due(now=now, lease=30)
    assert [e.case_number for e in due] == ["KL-AAAA-AAAA"]
    assert await outbox.claim_due(now=now + 1, lease=30) == []  # leased
    assert [e.case_number for e in await outbox.claim_due(now=now + 61, lease=30)] == [
        "KL-AAAA-AAAA",
        "KL-BBBB-BBBB",
    ]


async def test_delivered_case_keeps_no_personal_data(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    await outbox.add(case())
    await outbox.mark_delivered("KL-7H3K-Q9PX", 201, case())
    entry = await outbox.get("KL-7H3K-Q9PX")
    assert entry is not None
    assert (entry.status, entry.attempts, entry.last_status) == ("delivered", 1, 201)
    assert set(entry.payload) == set(KEPT_AFTER_DELIVERY)
    assert "contact" not in entry.payload and "description" not in entry.payload
    assert await outbox.claim_due(now=time.time() + 3600) == []  # never offered again


async def test_failed_case_is_kept_with_its_data_and_never_retried(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    await outbox.add(case())
    await outbox.mark_failed("KL-7H3K-Q9PX", 400, "HTTP 400 invalid")
    entry = await outbox.get("KL-7H3K-Q9PX")
    assert entry is not None
    assert (entry.status, entry.last_status, entry.last_error) == ("failed", 400, "HTTP 400 invalid")
    assert entry.payload == case()
    assert await outbox.claim_due(now=time.time() + 3600) == []
    assert await outbox.counts() == {"pending": 0, "delivered": 0, "failed": 1}


async def test_mark_retry_counts_attempts(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    await outbox.add(case())
    await outbox.mark_retry("KL-7H3K-Q9PX", 503, "HTTP 503", 3, time.time() + 10)
    entry = await outbox.get("KL-7H3K-Q9PX")
    assert entry is not None
    assert (entry.status, entry.attempts, entry.last_status, entry.last_error) == (
        "pending",
        3,
        503,
        "HTTP 503",
    )


async def test_unwritable_location_raises_outbox_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(OutboxError):
        await Outbox(blocker / "outbox.db").add(case())
    with pytest.raises(OutboxError):
        Outbox(blocker / "outbox.db").check()


def test_path_from_env(tmp_path: Path) -> None:
    assert path_from_env({}) == DEFAULT_PATH
    assert DEFAULT_PATH.parent.name == "var"
    assert path_from_env({"KRISENLOTSE_OUTBOX_DB": str(tmp_path / "x.db")}) == tmp_path / "x.db"
    assert path_from_env({"KRISENLOTSE_OUTBOX_DB": "  "}) == DEFAULT_PATH
