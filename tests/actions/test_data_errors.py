"""A broken data file fails loudly, naming file, entry, field and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.answers import load_answers
from actions.datafile import DataFileError
from actions.directory import load_directory
from actions.routing import load_routing


def edit(path: Path, old: str, new: str, count: int = 1) -> int:
    """Replace the ``count``-th occurrence of ``old``; return the 1-based line where it starts."""
    text = path.read_text(encoding="utf-8")
    index = -1
    for _ in range(count):
        index = text.index(old, index + 1)
    path.write_text(text[:index] + new + text[index + len(old) :], encoding="utf-8")
    return text.count("\n", 0, index) + 1


def line_of(path: Path, needle: str) -> int:
    text = path.read_text(encoding="utf-8")
    return text.count("\n", 0, text.index(needle)) + 1


def load_all(folder: Path) -> None:
    load_directory(folder / "contacts.yml")
    load_routing(folder / "routing.yml", folder / "contacts.yml")
    load_answers(folder / "answers.yml")


def test_copies_load(data_copy: Path) -> None:
    load_all(data_copy)


# --- contacts.yml ------------------------------------------------------------------------


def test_bad_time_format(data_copy: Path) -> None:
    contacts = data_copy / "contacts.yml"
    start = line_of(contacts, "  tax_office:")
    text = contacts.read_text(encoding="utf-8")
    offset = text.index("  tax_office:")
    mon = text.index('mon: [["08:00"', offset)
    contacts.write_text(text[:mon] + 'mon: [["8:00"' + text[mon + len('mon: [["08:00"') :], encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        load_directory(contacts)
    err = caught.value
    assert err.file == str(contacts.resolve())
    assert err.entry == "tax_office"
    assert err.field == "opening_hours.mon[0][0]"
    assert err.line is not None and err.line > start
    assert "HH:MM" in str(err) and "contacts.yml" in str(err) and f"line {err.line}" in str(err)
    assert contacts.read_text(encoding="utf-8").splitlines()[err.line - 1].strip().startswith("mon:")


def test_overlapping_intervals(data_copy: Path) -> None:
    contacts = data_copy / "contacts.yml"
    line = edit(contacts, '["13:00", "16:00"]', '["11:30", "16:00"]')
    with pytest.raises(DataFileError, match="overlaps") as caught:
        load_directory(contacts)
    assert (caught.value.entry, caught.value.field, caught.value.line) == (
        "business_development",
        "opening_hours.mon[1]",
        line,
    )


def test_interval_ending_before_it_starts(data_copy: Path) -> None:
    contacts = data_copy / "contacts.yml"
    edit(contacts, '["08:00", "18:00"]', '["18:00", "08:00"]')
    with pytest.raises(DataFileError, match="ends before it starts") as caught:
        load_directory(contacts)
    assert caught.value.entry == "employment_agency"
    assert caught.value.field == "opening_hours.mon[0]"


def test_missing_field(data_copy: Path) -> None:
    contacts = data_copy / "contacts.yml"
    text = contacts.read_text(encoding="utf-8")
    start = text.index("  trade_office:")
    desc = text.index("    description:", start)
    end = text.index("\n", desc) + 1
    contacts.write_text(text[:desc] + text[end:], encoding="utf-8")
    with pytest.raises(DataFileError, match=r"missing \(required\)") as caught:
        load_directory(contacts)
    assert (caught.value.entry, caught.value.field) == ("trade_office", "description")
    assert caught.value.line == line_of(contacts, "  trade_office:")


def test_unknown_field(data_copy: Path) -> None:
    contacts = data_copy / "contacts.yml"
    line = edit(contacts, "    languages: [de]", '    fax: "x"\n    languages: [de]', count=3)
    with pytest.raises(DataFileError, match="unknown field") as caught:
        load_directory(contacts)
    assert (caught.value.entry, caught.value.field, caught.value.line) == ("tax_office", "fax", line)


def test_null_field_must_be_listed_as_unverified(data_copy: Path) -> None:
    contacts = data_copy / "contacts.yml"
    text = contacts.read_text(encoding="utf-8")
    start = text.index("  chamber_of_crafts:")
    contacts.write_text(
        text[:start] + text[start:].replace("unverified: [phone, email, ", "unverified: [email, ", 1),
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match="not listed in 'unverified'") as caught:
        load_directory(contacts)
    assert (caught.value.entry, caught.value.field) == ("chamber_of_crafts", "phone")
    assert caught.value.line is not None and caught.value.line > line_of(contacts, "  chamber_of_crafts:")


def test_verified_with_unverified_fields(data_copy: Path) -> None:
    contacts = data_copy / "contacts.yml"
    line = edit(contacts, "verified: false", "verified: true")
    with pytest.raises(DataFileError, match="unverified") as caught:
        load_directory(contacts)
    assert (caught.value.entry, caught.value.field, caught.value.line) == (
        "employment_agency",
        "verified",
        line,
    )


def test_invented_looking_web_address_must_be_https(data_copy: Path) -> None:
    contacts = data_copy / "contacts.yml"
    line = edit(contacts, '"https://www.hwk-mannheim.de"', '"http://hwk-mannheim"')
    with pytest.raises(DataFileError, match="https") as caught:
        load_directory(contacts)
    assert (caught.value.entry, caught.value.field, caught.value.line) == ("chamber_of_crafts", "web", line)


def test_broken_yaml(data_copy: Path) -> None:
    contacts = data_copy / "contacts.yml"
    line = edit(contacts, '    name: "IHK Rhein-Neckar"', '    name: "IHK Rhein-Neckar\n   bad: [')
    with pytest.raises(DataFileError, match="YAML syntax error") as caught:
        load_directory(contacts)
    assert "contacts.yml" in str(caught.value)
    assert caught.value.line is not None and caught.value.line >= line


def test_duplicate_unit_id(data_copy: Path) -> None:
    contacts = data_copy / "contacts.yml"
    contacts.write_text(
        contacts.read_text(encoding="utf-8") + "\n  tax_office:\n    name: x\n", encoding="utf-8"
    )
    with pytest.raises(DataFileError, match="YAML syntax error") as caught:
        load_directory(contacts)
    assert caught.value.line == len(contacts.read_text(encoding="utf-8").splitlines()) - 1


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="cannot read file"):
        load_directory(tmp_path / "nope.yml")


# --- routing.yml -------------------------------------------------------------------------


def test_unknown_unit_in_routing(data_copy: Path) -> None:
    routing = data_copy / "routing.yml"
    line = edit(routing, "primary: tax_office", "primary: finance_office")
    with pytest.raises(DataFileError, match="unknown unit id 'finance_office'") as caught:
        load_routing(routing, data_copy / "contacts.yml")
    err = caught.value
    assert err.entry is not None and err.entry.endswith("(intent: tax_relief)")
    assert err.entry.startswith("routes[")
    assert (err.field, err.line) == ("primary", line)
    assert "routing.yml" in str(err)


def test_unknown_secondary_unit(data_copy: Path) -> None:
    routing = data_copy / "routing.yml"
    line = edit(routing, "secondary: [trade_office]", "secondary: [trade_office, police]")
    with pytest.raises(DataFileError, match="unknown unit id 'police'") as caught:
        load_routing(routing, data_copy / "contacts.yml")
    assert (caught.value.field, caught.value.line) == ("secondary[1]", line)


def test_unit_removed_from_contacts_breaks_routing(data_copy: Path) -> None:
    contacts = data_copy / "contacts.yml"
    edit(contacts, "  startup_centres:", "  founder_centres:")
    with pytest.raises(DataFileError, match="unknown unit id 'startup_centres'") as caught:
        load_routing(data_copy / "routing.yml", contacts)
    assert "(intent: startup_support)" in (caught.value.entry or "")


def test_unknown_intent_in_routing(data_copy: Path) -> None:
    routing = data_copy / "routing.yml"
    line = edit(routing, "intent: smart_city", "intent: smart_cities")
    with pytest.raises(DataFileError, match="not a topical intent") as caught:
        load_routing(routing, data_copy / "contacts.yml")
    assert (caught.value.field, caught.value.line) == ("intent", line)


def test_unknown_industry_in_condition(data_copy: Path) -> None:
    routing = data_copy / "routing.yml"
    line = edit(routing, "when: {industry: [handwerk]}", "when: {industry: [crafts]}")
    with pytest.raises(DataFileError, match="not a known industry value") as caught:
        load_routing(routing, data_copy / "contacts.yml")
    assert caught.value.field == "when.industry[0]"
    assert caught.value.line == line


def test_unknown_condition(data_copy: Path) -> None:
    routing = data_copy / "routing.yml"
    edit(routing, "when: {industry: [handwerk]}", "when: {branch: [handwerk]}")
    with pytest.raises(DataFileError, match="unknown field") as caught:
        load_routing(routing, data_copy / "contacts.yml")
    assert caught.value.field == "when.branch"


def test_employee_bounds(data_copy: Path) -> None:
    routing = data_copy / "routing.yml"
    edit(routing, "when: {industry: [handwerk]}", "when: {employees_min: 50, employees_max: 10}")
    with pytest.raises(DataFileError, match="employees_min is greater") as caught:
        load_routing(routing, data_copy / "contacts.yml")
    assert caught.value.field == "when"


def test_intent_without_unconditional_route(data_copy: Path) -> None:
    routing = data_copy / "routing.yml"
    edit(
        routing,
        "  - intent: smart_city\n    primary",
        "  - intent: smart_city\n    when: {district: [Neckarau]}\n    primary",
    )
    with pytest.raises(DataFileError, match="no rule without 'when' for: smart_city"):
        load_routing(routing, data_copy / "contacts.yml")


def test_unreachable_route(data_copy: Path) -> None:
    routing = data_copy / "routing.yml"
    routing.write_text(
        routing.read_text(encoding="utf-8")
        + "  - intent: tax_relief\n    when: {industry: [handwerk]}\n    primary: chamber_of_crafts\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match="unreachable") as caught:
        load_routing(routing, data_copy / "contacts.yml")
    assert caught.value.line == len(routing.read_text(encoding="utf-8").splitlines()) - 2


def test_unknown_default_unit(data_copy: Path) -> None:
    routing = data_copy / "routing.yml"
    line = edit(routing, "default_unit: business_development", "default_unit: mayor")
    with pytest.raises(DataFileError, match="unknown unit id 'mayor'") as caught:
        load_routing(routing, data_copy / "contacts.yml")
    assert (caught.value.field, caught.value.line) == ("default_unit", line)


# --- answers.yml -------------------------------------------------------------------------


def test_unknown_intent_in_answers(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    line = edit(answers, "  smart_city:", "  smart_cities:")
    with pytest.raises(DataFileError) as caught:
        load_answers(answers)
    # the first error in the file: the unknown key (the missing smart_city is reported as well)
    assert caught.value.line in (line, 5)
    assert "smart_cit" in str(caught.value)


def test_bad_button_payload(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    line = edit(answers, 'payload: "/loans_liquidity"', 'payload: "/loans"')
    with pytest.raises(DataFileError, match="known intent") as caught:
        load_answers(answers)
    assert caught.value.entry == "short_time_work_allowance"
    assert caught.value.field == "buttons[1].payload"
    assert caught.value.line == line


def test_too_few_buttons(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    text = answers.read_text(encoding="utf-8")
    start = text.index("  e_invoicing:")
    first = text.index("      - title:", start)
    second = text.index("      - title:", first + 1)
    answers.write_text(text[:first] + text[second:], encoding="utf-8")
    with pytest.raises(DataFileError, match="too short") as caught:
        load_answers(answers)
    assert (caught.value.entry, caught.value.field) == ("e_invoicing", "buttons")


def test_bad_checked_date(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    line = edit(answers, "checked: 2026-11-24", "checked: gestern", count=2)
    with pytest.raises(DataFileError, match="not a date") as caught:
        load_answers(answers)
    assert (caught.value.entry, caught.value.field, caught.value.line) == (
        "short_time_work_application",
        "checked",
        line,
    )


def test_missing_source(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    text = answers.read_text(encoding="utf-8")
    start = text.index("  tax_relief:")
    src = text.index("    source:", start)
    end = text.index("    checked:", src)
    answers.write_text(text[:src] + text[end:], encoding="utf-8")
    with pytest.raises(DataFileError, match=r"missing \(required\)") as caught:
        load_answers(answers)
    assert (caught.value.entry, caught.value.field) == ("tax_relief", "source")


def test_button_to_own_topic(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    edit(answers, 'payload: "/tax_relief"', 'payload: "/emergency_aid"')
    with pytest.raises(DataFileError, match="own topic") as caught:
        load_answers(answers)
    assert caught.value.entry == "emergency_aid"
