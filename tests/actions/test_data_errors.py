"""A broken data file fails loudly, naming file, entry, field and line.

contacts.yml errors are provoked in a synthetic directory (tests/actions/synthetic.py) whose text is known;
routing.yml and answers.yml errors in copies of the real files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.answers import load_answers
from actions.datafile import DataFileError
from actions.directory import load_directory
from actions.routing import load_routing
from tests.actions.synthetic import MORNING_HOURS, WEEKDAY_HOURS, WIFOE_HOURS, write_contacts


def edit(path: Path, old: str, new: str, count: int = 1) -> int:
    """Replace the ``count``-th occurrence of ``old``; return the 1-based line where it starts."""
    text = path.read_text(encoding="utf-8")
    index = -1
    for _ in range(count):
        index = text.index(old, index + 1)
    path.write_text(text[:index] + new + text[index + len(old) :], encoding="utf-8")
    return text.count("\n", 0, index) + 1


def edit_in(path: Path, section: str, old: str, new: str) -> int:
    """Replace the first ``old`` after the line ``section``; return the 1-based line where it starts."""
    text = path.read_text(encoding="utf-8")
    index = text.index(old, text.index(section))
    path.write_text(text[:index] + new + text[index + len(old) :], encoding="utf-8")
    return text.count("\n", 0, index) + 1


def line_of(path: Path, needle: str, after: str = "") -> int:
    text = path.read_text(encoding="utf-8")
    return text.count("\n", 0, text.index(needle, text.index(after) if after else 0)) + 1


def load_all(folder: Path) -> None:
    load_directory(folder / "contacts.yml")
    load_routing(folder / "routing.yml", folder / "contacts.yml")
    load_answers(folder / "answers.yml")


def test_copies_load(data_copy: Path) -> None:
    load_all(data_copy)


# --- contacts.yml ------------------------------------------------------------------------


@pytest.fixture
def contacts(tmp_path: Path) -> Path:
    """A valid synthetic contacts.yml: hours for three units, an e-mail address for the Handwerkskammer."""
    path = write_contacts(
        tmp_path / "synthetic-contacts.yml",
        {
            "employment_agency": {"opening_hours": WEEKDAY_HOURS},
            "business_development": {"opening_hours": WIFOE_HOURS},
            "tax_office": {"opening_hours": MORNING_HOURS},
            "chamber_of_crafts": {"email": "info@example.org", "address": "B 1, 1-2, 68159 Mannheim"},
        },
    )
    load_directory(path)  # valid as written
    return path


def broken(path: Path) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        load_directory(path)
    err = caught.value
    assert err.file == str(path.resolve())
    assert "synthetic-contacts.yml" in str(err)
    if err.line is not None:
        assert f"line {err.line}" in str(err)
    return err


def test_synthetic_directory_routes(contacts: Path) -> None:
    load_routing(None, contacts)  # every unit data/routing.yml names is in the synthetic directory


def test_bad_time_format(contacts: Path) -> None:
    line = edit_in(contacts, "  tax_office:", 'mon: [["08:00"', 'mon: [["8:00"')
    err = broken(contacts)
    assert (err.entry, err.field, err.line) == ("tax_office", "opening_hours.mon[0][0]", line)
    assert "HH:MM" in str(err)
    assert contacts.read_text(encoding="utf-8").splitlines()[err.line - 1].strip().startswith("mon:")


def test_overlapping_intervals(contacts: Path) -> None:
    line = edit_in(contacts, "  business_development:", '["13:00", "16:00"]', '["11:30", "16:00"]')
    err = broken(contacts)
    assert "overlaps" in str(err)
    assert (err.entry, err.field, err.line) == ("business_development", "opening_hours.mon[1]", line)


def test_interval_ending_before_it_starts(contacts: Path) -> None:
    line = edit_in(contacts, "  employment_agency:", '["08:00", "18:00"]', '["18:00", "08:00"]')
    err = broken(contacts)
    assert "ends before it starts" in str(err)
    assert (err.entry, err.field, err.line) == ("employment_agency", "opening_hours.mon[0]", line)


@pytest.mark.parametrize("field", ["description", "handles_cases", "sources"])
def test_missing_field(contacts: Path, field: str) -> None:
    text = contacts.read_text(encoding="utf-8")
    start = text.index("  trade_office:")
    line_start = text.index(f"    {field}:", start)
    end = text.index("\n", line_start) + 1
    while field == "sources" and text.startswith("      ", end):  # the source lines below it
        end = text.index("\n", end) + 1
    contacts.write_text(text[:line_start] + text[end:], encoding="utf-8")
    err = broken(contacts)
    assert "missing (required)" in str(err)
    assert (err.entry, err.field) == ("trade_office", field)
    assert err.line == line_of(contacts, "  trade_office:")


@pytest.mark.parametrize("field", ["fax", "verified", "unverified"])  # the old schema's fields are gone too
def test_unknown_field(contacts: Path, field: str) -> None:
    line = edit_in(contacts, "  tax_office:", "    languages:", f"    {field}: false\n    languages:")
    err = broken(contacts)
    assert "unknown field" in str(err)
    assert (err.entry, err.field, err.line) == ("tax_office", field, line)


def test_invented_looking_web_address_must_be_https(contacts: Path) -> None:
    line = edit_in(
        contacts, "  chamber_of_crafts:", '"https://example.org/chamber-of-crafts"', '"http://hwk-mannheim"'
    )
    err = broken(contacts)
    assert "https" in str(err)
    assert (err.entry, err.field, err.line) == ("chamber_of_crafts", "web", line)


def test_broken_yaml(contacts: Path) -> None:
    line = edit(contacts, '    name: "IHK Rhein-Neckar"', '    name: "IHK Rhein-Neckar\n   bad: [')
    err = broken(contacts)
    assert "YAML syntax error" in str(err)
    assert err.line is not None and err.line >= line


def test_duplicate_unit_id(contacts: Path) -> None:
    contacts.write_text(
        contacts.read_text(encoding="utf-8") + "\n  tax_office:\n    name: x\n", encoding="utf-8"
    )
    err = broken(contacts)
    assert "YAML syntax error" in str(err)
    assert err.line == len(contacts.read_text(encoding="utf-8").splitlines()) - 1


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="cannot read file"):
        load_directory(tmp_path / "nope.yml")


# --- contacts.yml: every value from a cited page ----------------------------------------------


def drop_line(path: Path, section: str, needle: str) -> int:
    """Delete the first line starting with ``needle`` after ``section``; return its 1-based number."""
    text = path.read_text(encoding="utf-8")
    start = text.index(needle, text.index(section))
    end = text.index("\n", start) + 1
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    return text.count("\n", 0, start) + 1


@pytest.mark.parametrize(
    ("unit_id", "field"),
    [
        ("chamber_of_crafts", "phone"),
        ("chamber_of_crafts", "email"),
        ("chamber_of_crafts", "address"),
        ("chamber_of_crafts", "name"),
        ("chamber_of_crafts", "web"),
        ("business_development", "opening_hours"),
    ],
)
def test_value_without_source(contacts: Path, unit_id: str, field: str) -> None:
    drop_line(contacts, f"  {unit_id}:", f"      {field}: {{url:")
    err = broken(contacts)
    assert "has a value but no source" in str(err)
    assert (err.entry, err.field) == (unit_id, field)
    assert err.line == line_of(contacts, f"    {field}:", after=f"  {unit_id}:")  # the value's line


def test_note_without_source(contacts: Path) -> None:
    edit_in(
        contacts, "  tax_office:", "    languages:", '    note: "Eine Angabe ohne Seite."\n    languages:'
    )
    err = broken(contacts)
    assert "has a value but no source" in str(err)
    assert (err.entry, err.field) == ("tax_office", "note")
    assert err.line == line_of(contacts, "    note:", after="  tax_office:")


def test_source_for_an_empty_field(contacts: Path) -> None:
    line = (
        edit_in(
            contacts,
            "  tax_office:",
            "    sources:\n",
            '    sources:\n      email: {url: "https://example.org/kontakt", retrieved: 2026-12-08}\n',
        )
        + 1
    )
    err = broken(contacts)
    assert "source given for 'email', which has no value" in str(err)
    assert (err.entry, err.field, err.line) == ("tax_office", "sources.email", line)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://www.hwk-mannheim.de", "not the URL of a specific page"),  # the schema
        ("https://www.hwk-mannheim.de/", "not the URL of a specific page"),
        ("https://example.org//", "must be the URL of a specific page, not a domain root"),  # the loader
        ("www.hwk-mannheim.de/innungen/", "not the URL of a specific page"),
    ],
)
def test_domain_root_is_no_source(contacts: Path, url: str, message: str) -> None:
    line = edit_in(
        contacts,
        "  chamber_of_crafts:",
        '{url: "https://example.org/chamber-of-crafts/phone"',
        f'{{url: "{url}"',
    )
    err = broken(contacts)
    assert message in str(err)
    assert (err.entry, err.field, err.line) == ("chamber_of_crafts", "sources.phone.url", line)


@pytest.mark.parametrize("value", ["gestern", "08.12.2026", "2026-12"])
@pytest.mark.parametrize("key", ["retrieved", "as_of"])
def test_bad_source_date(contacts: Path, key: str, value: str) -> None:
    line = edit_in(
        contacts, "  chamber_of_crafts:", "retrieved: 2026-12-08}", f"retrieved: 2026-12-08, {key}: {value}}}"
    )
    if key == "retrieved":
        edit_in(contacts, "  chamber_of_crafts:", "retrieved: 2026-12-08, ", "")
    err = broken(contacts)
    assert "is not a date (YYYY-MM-DD)" in str(err) and value in str(err)
    assert (err.entry, err.field, err.line) == ("chamber_of_crafts", f"sources.name.{key}", line)


def test_impossible_source_date(contacts: Path) -> None:
    """YAML itself rejects 2026-12-32 while reading (no line is known then): a clear error naming the file."""
    edit_in(contacts, "  chamber_of_crafts:", "retrieved: 2026-12-08}", "retrieved: 2026-12-32}")
    err = broken(contacts)
    assert err.file == str(contacts)
    assert "dates are written YYYY-MM-DD" in str(err)


def test_source_without_retrieved_date(contacts: Path) -> None:
    line = edit_in(contacts, "  chamber_of_crafts:", ", retrieved: 2026-12-08}", "}")
    err = broken(contacts)
    assert "missing (required)" in str(err)
    assert (err.entry, err.field, err.line) == ("chamber_of_crafts", "sources.name.retrieved", line)


def test_source_for_an_unknown_field(contacts: Path) -> None:
    line = (
        edit_in(
            contacts,
            "  tax_office:",
            "    sources:\n",
            '    sources:\n      fax: {url: "https://example.org/fax", retrieved: 2026-12-08}\n',
        )
        + 1
    )
    err = broken(contacts)
    assert "unknown key 'fax'" in str(err)
    assert (err.entry, err.field, err.line) == ("tax_office", "sources.fax", line)


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


def intents_in_order(path: Path) -> list[str]:
    return list(load_answers(path))


def replace_line(path: Path, prefix: str, new: str, count: int = 1) -> int:
    """Replace the ``count``-th line starting with ``prefix`` by ``new``; return its 1-based number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    hits = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    index = hits[count - 1]
    lines[index] = new
    path.write_text("\n".join(lines), encoding="utf-8")
    return index + 1


def broken_answers(path: Path) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        load_answers(path)
    assert "answers.yml" in str(caught.value)
    return caught.value


def test_unknown_intent_in_answers(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    line = edit(answers, "  smart_city:", "  smart_cities:")
    err = broken_answers(answers)
    # the first error in the file: the missing smart_city (reported at 'answers:') or the unknown key
    assert err.line in (line, line_of(answers, "answers:"))
    assert "smart_cit" in str(err)


def test_bad_button_payload(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    line = edit(answers, 'payload: "/loans_liquidity"', 'payload: "/loans"')
    err = broken_answers(answers)
    assert "known intent" in str(err)
    assert err.entry == "short_time_work_allowance"
    assert err.field == "buttons[1].payload"
    assert err.line == line


def test_too_few_buttons(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    text = answers.read_text(encoding="utf-8")
    start = text.index("    buttons:", text.index("  e_invoicing:"))
    first = text.index("      - title:", start)
    last = text.rindex("      - title:", first, text.index("\n  ", text.index("\n\n", start)))
    answers.write_text(text[:first] + text[last:], encoding="utf-8")  # one button left
    err = broken_answers(answers)
    assert "too short" in str(err)
    assert (err.entry, err.field) == ("e_invoicing", "buttons")


@pytest.mark.parametrize("key", ["checked", "review_by"])
def test_bad_date(data_copy: Path, key: str) -> None:
    answers = data_copy / "answers.yml"
    second = intents_in_order(answers)[1]
    line = replace_line(answers, f"    {key}:", f"    {key}: gestern", count=2)
    err = broken_answers(answers)
    assert "not a date" in str(err)
    assert (err.entry, err.field, err.line) == (second, key, line)


def test_review_by_before_checked(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    first = intents_in_order(answers)[0]
    line = replace_line(answers, "    review_by:", "    review_by: 2000-01-01")
    err = broken_answers(answers)
    assert "review_by lies before the date the answer was checked" in str(err)
    assert (err.entry, err.field, err.line) == (first, "review_by", line)


def test_missing_sources(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    text = answers.read_text(encoding="utf-8")
    start = text.index("  tax_relief:")
    src = text.index("    sources:", start)
    end = text.index("    checked:", src)
    answers.write_text(text[:src] + text[end:], encoding="utf-8")
    err = broken_answers(answers)
    assert "missing (required)" in str(err)
    assert (err.entry, err.field) == ("tax_relief", "sources")


def test_old_single_source_is_rejected(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    first = intents_in_order(answers)[0]
    line = edit(
        answers, "    sources:", '    source: {title: "x", url: "https://example.org/x"}\n    sources:'
    )
    err = broken_answers(answers)
    assert "unknown field" in str(err)
    assert (err.entry, err.field, err.line) == (first, "source", line)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://www.arbeitsagentur.de", "not the URL of a specific page"),  # the schema
        (
            "https://www.arbeitsagentur.de//",
            "must be the URL of a specific page, not a domain root",
        ),  # the loader
    ],
)
def test_answer_source_must_be_a_page(data_copy: Path, url: str, message: str) -> None:
    answers = data_copy / "answers.yml"
    first = intents_in_order(answers)[0]
    line = replace_line(answers, "        url:", f'        url: "{url}"')
    err = broken_answers(answers)
    assert message in str(err)
    assert (err.entry, err.field, err.line) == (first, "sources[0].url", line)


def test_variant_source_must_be_a_page(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    text = answers.read_text(encoding="utf-8")
    start = text.index("      municipal:", text.index("  tax_relief:"))
    url_at = text.index("            url:", start)
    line = text.count("\n", 0, url_at) + 1
    end = text.index("\n", url_at)
    answers.write_text(
        text[:url_at] + '            url: "https://example.org//"' + text[end:], encoding="utf-8"
    )
    err = broken_answers(answers)
    assert "specific page" in str(err)
    assert (err.entry, err.field, err.line) == ("tax_relief", "variants.municipal.sources[0].url", line)


def test_bad_retrieved_date_in_answer_source(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    first = intents_in_order(answers)[0]
    line = replace_line(answers, "        retrieved:", "        retrieved: 08.12.2026")
    err = broken_answers(answers)
    assert "'08.12.2026' is not a date (YYYY-MM-DD)" in str(err)
    assert (err.entry, err.field, err.line) == (first, "sources[0].retrieved", line)


def test_button_to_own_topic(data_copy: Path) -> None:
    answers = data_copy / "answers.yml"
    edit(answers, 'payload: "/tax_relief"', 'payload: "/emergency_aid"')
    err = broken_answers(answers)
    assert "own topic" in str(err)
    assert err.entry == "emergency_aid"


# --- contacts.yml + routing.yml ------------------------------------------------------------------


def test_default_unit_must_handle_cases(tmp_path: Path) -> None:
    contacts = write_contacts(tmp_path / "contacts.yml", {"business_development": {"handles_cases": False}})
    with pytest.raises(DataFileError, match="handles_cases") as caught:
        load_routing(None, contacts)
    assert caught.value.field == "default_unit"
