"""actions/sources.py, actions/content.py and tools/check_data.py (`make validate`): how well the content is
sourced, and that an unsourced value is an error."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import MappingProxyType

import pytest

from actions import answers as answers_module
from actions import directory as directory_module
from actions import routing as routing_module
from actions.answers import load_answers
from actions.content import content_report
from actions.directory import Directory, load_directory
from actions.routing import ROUTING_FILE, load_routing
from actions.sources import DEFAULT_MAX_AGE_DAYS, Source, as_date, is_page_url, max_age_days
from tests.actions.synthetic import WEEKDAY_HOURS, write_contacts

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 15)


# --- sources.py ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "page"),
    [
        ("https://www.mannheim.de/de/wirtschaft", True),
        ("http://www.mannheim.de/de/x", True),
        ("https://www.ortenaukreis.de/index.php?ModID=7&FID=1", True),
        ("https://example.org/?p=691", True),  # the query names the page
        ("https://www.mannheim.de", False),
        ("https://www.mannheim.de/", False),
        ("https://www.mannheim.de//", False),
        ("ftp://www.mannheim.de/x", False),
        ("www.mannheim.de/x", False),
        ("", False),
    ],
)
def test_is_page_url(url: str, page: bool) -> None:
    assert is_page_url(url) is page


def test_as_date() -> None:
    assert as_date(date(2026, 12, 8)) == date(2026, 12, 8)
    assert as_date("2026-12-08") == date(2026, 12, 8)
    for bad in ("08.12.2026", "gestern", None, 20261208, "2026-12-32"):
        assert as_date(bad) is None


@pytest.mark.parametrize(
    ("value", "days"),
    [
        (None, DEFAULT_MAX_AGE_DAYS),
        ("", DEFAULT_MAX_AGE_DAYS),
        ("90", 90),
        (" 30 ", 30),
        ("0", 1),
        ("x", 180),
    ],
)
def test_max_age_days(value: str | None, days: int) -> None:
    env = {} if value is None else {"KRISENLOTSE_SOURCE_MAX_AGE_DAYS": value}
    assert max_age_days(env) == days
    assert DEFAULT_MAX_AGE_DAYS == 180


def test_source_as_json() -> None:
    assert Source(url="https://example.org/a", retrieved=date(2026, 12, 8)).as_json() == {
        "url": "https://example.org/a",
        "retrieved": "2026-12-08",
    }
    full = Source(url="https://example.org/a", retrieved=date(2026, 12, 8), as_of=date(2025, 1, 2), title="T")
    assert full.as_json() == {
        "url": "https://example.org/a",
        "retrieved": "2026-12-08",
        "as_of": "2025-01-02",
        "title": "T",
    }


# --- content_report ----------------------------------------------------------------------------------


@pytest.fixture
def synthetic(tmp_path: Path) -> Directory:
    path = write_contacts(
        tmp_path / "contacts.yml",
        {
            "citizen_services": {
                "email": "buergerdienste@example.org",
                "address": "K 7, 68159 Mannheim",
                "opening_hours": WEEKDAY_HOURS,
                "as_of": {"opening_hours": date(2013, 2, 11)},
            },
            "tax_office": {"phone": None},
        },
    )
    return load_directory(path)


def test_content_report_table(synthetic: Directory) -> None:
    routing = load_routing(ROUTING_FILE, synthetic.path)
    report = content_report(synthetic, routing, load_answers(), today=TODAY, max_age_days=180)
    rows = {row.unit_id: row for row in report.units}
    assert set(rows) == set(synthetic.units)
    citizen = rows["citizen_services"]
    assert citizen.present == ("name", "phone", "email", "web", "address", "opening_hours")
    assert citizen.sourced == citizen.present
    assert (citizen.oldest, citizen.reachable, citizen.handles_cases) == (date(2026, 12, 8), True, True)
    assert (rows["tax_office"].reachable, rows["chamber_of_crafts"].handles_cases) == (False, False)
    assert report.reachable_units == len(synthetic.units) - 1
    assert report.errors == []
    # the page of 2013 is flagged; nothing is stale after a week
    assert report.warnings == [
        "contacts.yml citizen_services.opening_hours: the page dates from 2013-02-11 (older than 3 years; "
        "shown to users with a hint to check it)"
    ]
    text = report.render()
    assert text.splitlines()[0] == (
        f"Contact directory: {len(synthetic.units)} units, {len(synthetic.units) - 1} reachable by phone or "
        "e-mail from a cited page"
    )
    assert "citizen_services" in text and "2026-12-08" in text
    tax_line = next(line for line in text.splitlines() if line.strip().startswith("tax_office "))
    assert tax_line.split()[-4:] == ["phone,", "email,", "address,", "opening_hours"]  # what is missing
    assert f"Answers: {len(load_answers())}" in text
    assert text.splitlines()[-1].startswith("WARNING: contacts.yml citizen_services.opening_hours")


def test_content_report_warns_on_stale_sources_and_overdue_answers(synthetic: Directory) -> None:
    routing = load_routing(ROUTING_FILE, synthetic.path)
    answers = load_answers()
    later = date(2027, 12, 31)  # a year after the research; every review_by has passed
    report = content_report(synthetic, routing, answers, today=later, max_age_days=90)
    stale = [w for w in report.warnings if "older than 90 days" in w]
    sources = sum(len(u.sources) for u in synthetic.units.values())
    answer_sources = sum(
        len(a.sources) + sum(len(v.sources) for v in a.variants.values()) for a in answers.values()
    )
    assert len(stale) == sources + answer_sources
    overdue = [w for w in report.warnings if "has passed — re-check it" in w]
    assert len(overdue) == len(answers)
    assert report.errors == []


def test_content_report_error_when_the_default_unit_does_not_handle_cases(synthetic: Directory) -> None:
    routing = load_routing(ROUTING_FILE, synthetic.path)
    units = dict(synthetic.units)
    units["business_development"] = replace(units["business_development"], handles_cases=False)
    broken = Directory(path=synthetic.path, units=MappingProxyType(units))
    report = content_report(broken, routing, {}, today=TODAY, max_age_days=180)
    assert report.errors == [
        "routing.yml default_unit 'business_development' must work cases in the staff console "
        "(handles_cases: true): it receives and forwards the cases of outside bodies"
    ]


def test_content_report_error_for_an_unsourced_value(synthetic: Directory) -> None:
    """Second line of defence: a Unit built around the loader still counts as an error."""
    routing = load_routing(ROUTING_FILE, synthetic.path)
    units = dict(synthetic.units)
    crafts = units["chamber_of_crafts"]
    units["chamber_of_crafts"] = replace(
        crafts, email="x@example.org", sources=MappingProxyType({k: v for k, v in crafts.sources.items()})
    )
    report = content_report(
        Directory(path=synthetic.path, units=MappingProxyType(units)),
        routing,
        {},
        today=TODAY,
        max_age_days=180,
    )
    assert report.errors == ["contacts.yml chamber_of_crafts: values without a source: email"]


# --- tools/check_data.py -----------------------------------------------------------------------------


@pytest.fixture
def data_files(monkeypatch: pytest.MonkeyPatch, data_copy: Path) -> Path:
    """Point the loaders' default paths (used by tools/check_data.py) at copies in ``data_copy``."""
    monkeypatch.setattr(directory_module, "CONTACTS_FILE", data_copy / "contacts.yml")
    monkeypatch.setattr(routing_module, "CONTACTS_FILE", data_copy / "contacts.yml")
    monkeypatch.setattr(routing_module, "ROUTING_FILE", data_copy / "routing.yml")
    monkeypatch.setattr(answers_module, "ANSWERS_FILE", data_copy / "answers.yml")
    write_contacts(data_copy / "contacts.yml")  # synthetic: its text is known
    return data_copy


def test_check_data_prints_the_unit_table(data_files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tools.check_data import main

    assert main(["--today", "2026-12-15"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    units = load_directory(data_files / "contacts.yml").units
    assert (
        lines[0]
        == f"Contact directory: {len(units)} units, {len(units)} reachable by phone or e-mail from a cited page"
    )
    assert (
        "unit" in lines[1] and "present" in lines[1] and "sourced" in lines[1] and "oldest source" in lines[1]
    )
    for unit_id in units:
        assert any(line.split()[:1] == [unit_id] for line in lines), unit_id
    assert any(line.startswith("Answers: ") for line in lines)


def test_check_data_fails_on_a_value_without_a_source(
    data_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools.check_data import main

    contacts = data_files / "contacts.yml"
    text = contacts.read_text(encoding="utf-8")
    start = text.index("      phone: {url:", text.index("  chamber_of_crafts:"))
    contacts.write_text(text[:start] + text[text.index("\n", start) + 1 :], encoding="utf-8")
    phone_line = text.count("\n", 0, text.index("    phone:", text.index("  chamber_of_crafts:"))) + 1

    assert main(["--today", "2026-12-15"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("INVALID: ")
    assert (
        f"contacts.yml, line {phone_line}: entry 'chamber_of_crafts', field 'phone': has a value but no source"
        in err
    )


def test_check_data_fails_when_the_default_unit_forwards_nothing(
    data_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools.check_data import main

    write_contacts(data_files / "contacts.yml", {"business_development": {"handles_cases": False}})
    assert main(["--today", "2026-12-15"]) == 1
    _, err = capsys.readouterr()
    # the routing loader itself refuses it (so the action server does not start with it either)
    assert "INVALID:" in err and "default_unit" in err
    assert "'business_development' does not work cases in the staff console" in err


def test_check_data_on_the_real_data() -> None:
    """`make validate`'s second step, as a subprocess: the real data is valid and every unit is listed."""
    done = subprocess.run(
        [sys.executable, "tools/check_data.py"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Contact directory: ")
    for unit_id in load_directory().units:
        assert f"\n  {unit_id} " in done.stdout
    for intent in load_answers():
        assert f"\n  {intent} " in done.stdout
