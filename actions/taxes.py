"""Which tax a tax_relief question is about: the city levies Gewerbe- and Grundsteuer, the Finanzamt the rest.

Plain functions on text and slot values, no Rasa. The ``tax_type`` entity (NLU) and the words of the message
both count: compound words such as "Gewerbesteuervorauszahlung" carry the tax only inside the word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from actions.intents import TAX_TYPES
from actions.urgency import fold

#: Folded word stems -> normalised tax_type value. Matched inside words (compounds), so longer stems first.
_STEMS: tuple[tuple[str, str], ...] = (
    ("gewerbesteuer", "gewerbesteuer"),
    ("gewerbsteuer", "gewerbesteuer"),
    ("grundsteuer", "grundsteuer"),
    ("einkommensteuer", "einkommensteuer"),
    ("einkommenssteuer", "einkommensteuer"),
    ("einkommenstuer", "einkommensteuer"),
    ("koerperschaftsteuer", "koerperschaftsteuer"),
    ("koerperschaftssteuer", "koerperschaftsteuer"),
    ("korperschaftsteuer", "koerperschaftsteuer"),
    ("umsatzsteuer", "umsatzsteuer"),
    ("umsatzsteur", "umsatzsteuer"),
    ("mehrwertsteuer", "umsatzsteuer"),
    ("lohnsteuer", "lohnsteuer"),
    ("income tax", "einkommensteuer"),
    ("corporate tax", "koerperschaftsteuer"),
    ("corporation tax", "koerperschaftsteuer"),
    ("value added tax", "umsatzsteuer"),
    ("sales tax", "umsatzsteuer"),
    ("trade tax", "gewerbesteuer"),
    ("business tax", "gewerbesteuer"),
    ("property tax", "grundsteuer"),
    ("wage tax", "lohnsteuer"),
    ("payroll tax", "lohnsteuer"),
)
#: Abbreviations: whole words only ("ust" must not match inside "Zustand").
_ABBREVIATIONS = re.compile(r"\b(mwst|ust|vat|kst|gewst)\b")
_ABBREVIATION_VALUES = {
    "mwst": "umsatzsteuer",
    "ust": "umsatzsteuer",
    "vat": "umsatzsteuer",
    "kst": "koerperschaftsteuer",
    "gewst": "gewerbesteuer",
}
#: Values of the buttons that ask back ("municipal"/"state" name the group, not one tax).
GROUPS = ("municipal", "state", "both")


def tax_types_in(text: str | None) -> list[str]:
    """Normalised tax types named in ``text``, in order of first mention, without repeats."""
    folded = fold(text or "")
    found: list[tuple[int, str]] = []
    for stem, value in _STEMS:
        start = folded.find(stem)
        if start >= 0:
            found.append((start, value))
    found.extend((m.start(), _ABBREVIATION_VALUES[m.group(1)]) for m in _ABBREVIATIONS.finditer(folded))
    result: list[str] = []
    for _, value in sorted(found):
        if value not in result:
            result.append(value)
    return result


def scope_of(values: Iterable[object]) -> str | None:
    """'municipal' (city), 'state' (Finanzamt), 'both', or None when no known tax type is given."""
    scopes = set()
    for value in values:
        key = str(value).strip().casefold()
        if key in GROUPS:
            scopes.add(key)
        elif key in TAX_TYPES:
            scopes.add(TAX_TYPES[key])
    if not scopes:
        return None
    return scopes.pop() if len(scopes) == 1 else "both"  # {"both"} stays "both"


def slot_values(slot: object) -> list[str]:
    """The tax_type slot as a list (Rasa sets a text slot to one value; be lenient with lists)."""
    if slot is None:
        return []
    if isinstance(slot, list | tuple):
        return [str(v) for v in slot]
    return [str(slot)]
