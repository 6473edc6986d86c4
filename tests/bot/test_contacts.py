"""The general contact card shown when the assistant is unavailable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.contacts import ContactsError, contact_card
from bot.settings import DEFAULT_CONTACTS_FILE


def test_card_from_the_contact_directory() -> None:
    if not DEFAULT_CONTACTS_FILE.exists():
        pytest.skip("data/contacts.yml not written yet")
    card = contact_card(DEFAULT_CONTACTS_FILE)
    assert card["type"] == "contact_card"
    unit = card["unit"]
    assert unit["id"] == "business_development"
    assert "Wirtschaftsförderung" in unit["name"]
    assert unit["web"].startswith("https://")
    assert unit["open_now"] is None


def test_missing_file_gives_a_fallback_without_invented_numbers(tmp_path: Path, caplog) -> None:
    card = contact_card(tmp_path / "missing.yml")
    unit = card["unit"]
    assert unit["id"] == "business_development"
    assert unit["phone"] is None and unit["email"] is None and unit["address"] is None
    assert unit["web"] == "https://www.mannheim.de"
    assert "not found" in caplog.text


@pytest.mark.parametrize(("text", "problem"), [
    ("units: [", "YAML syntax error"),
    ("units:\n  trade_office: {name: x, web: 'https://x.de'}\n", "units.business_development"),
    ("units:\n  business_development: {name: '', web: 'https://x.de'}\n", "field 'name'"),
    ("- just a list\n", "units.business_development"),
])
def test_broken_file_fails_loudly_with_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "contacts.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContactsError) as info:
        contact_card(path)
    assert str(path) in str(info.value) and problem in str(info.value)
