"""actions/taxes.py: which tax a message names (compound words too), and who levies it."""

from __future__ import annotations

import pytest

from actions.intents import TAX_TYPES
from actions.taxes import scope_of, slot_values, tax_types_in


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kann ich die Gewerbesteuer stunden lassen?", ["gewerbesteuer"]),
        ("Wir können die Gewerbesteuervorauszahlung nicht leisten", ["gewerbesteuer"]),  # compound
        ("GEWERBESTEUER-Bescheid", ["gewerbesteuer"]),
        ("Grundsteuerbescheid 2026", ["grundsteuer"]),
        ("Einkommensteuervorauszahlungen senken", ["einkommensteuer"]),
        ("die Einkommenssteuer", ["einkommensteuer"]),
        ("Körperschaftsteuer", ["koerperschaftsteuer"]),
        ("Koerperschaftssteuer", ["koerperschaftsteuer"]),
        ("Umsatzsteuervoranmeldung", ["umsatzsteuer"]),
        ("die Mehrwertsteuer", ["umsatzsteuer"]),
        ("MwSt. und USt", ["umsatzsteuer"]),  # abbreviations, one value
        ("Lohnsteuer-Anmeldung", ["lohnsteuer"]),
        ("GewSt stunden", ["gewerbesteuer"]),
        ("corporate tax deferral", ["koerperschaftsteuer"]),
        ("Can we defer the trade tax?", ["gewerbesteuer"]),
        # order of first mention, no repeats
        ("Umsatzsteuer, Gewerbesteuer und nochmal Umsatzsteuer", ["umsatzsteuer", "gewerbesteuer"]),
        # nothing named
        ("Können wir Steuern stunden lassen?", []),
        ("Der Zustand ist schlimm, im August", []),  # 'ust' only as a whole word
        ("", []),
        (None, []),
    ],
)
def test_tax_types_in(text: str | None, expected: list[str]) -> None:
    assert tax_types_in(text) == expected


@pytest.mark.parametrize(
    ("values", "scope"),
    [
        (["gewerbesteuer"], "municipal"),
        (["grundsteuer", "gewerbesteuer"], "municipal"),
        (["umsatzsteuer"], "state"),
        (["Einkommensteuer "], "state"),  # case and spaces
        (["lohnsteuer", "koerperschaftsteuer"], "state"),
        (["gewerbesteuer", "umsatzsteuer"], "both"),
        (["municipal"], "municipal"),  # the button values
        (["state"], "state"),
        (["both"], "both"),
        (["municipal", "state"], "both"),
        (["kirchensteuer"], None),
        ([], None),
    ],
)
def test_scope_of(values: list[str], scope: str | None) -> None:
    assert scope_of(values) == scope


def test_every_tax_type_has_a_side() -> None:
    assert set(TAX_TYPES.values()) == {"municipal", "state"}
    assert {t for t, side in TAX_TYPES.items() if side == "municipal"} == {"gewerbesteuer", "grundsteuer"}
    for tax in TAX_TYPES:
        assert tax_types_in(tax) == [tax]  # every normalised value is recognised in a text
        assert scope_of([tax]) == TAX_TYPES[tax]
    assert tax_types_in("Körperschaftsteuer") == ["koerperschaftsteuer"]


def test_slot_values() -> None:
    assert slot_values(None) == []
    assert slot_values("umsatzsteuer") == ["umsatzsteuer"]
    assert slot_values(["gewerbesteuer", "umsatzsteuer"]) == ["gewerbesteuer", "umsatzsteuer"]
    assert slot_values(("state",)) == ["state"]
