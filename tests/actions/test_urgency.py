"""actions/urgency.py: urgent signals in German (and some English), with typos and without umlauts."""

from __future__ import annotations

import pytest

from actions.urgency import SIGNALS, detect, edit_distance_at_most_one, fold, merge, near


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        # insolvency
        ("Wir sind insolvent.", "insolvency"),
        ("Ich muss wohl Insolvenz anmelden", "insolvency"),
        ("Der Insolvenzantrag ist schon vorbereitet", "insolvency"),
        ("wir sind pleite", "insolvency"),
        ("Firmenpleite droht", "insolvency"),
        ("bin plaite", "insolvency"),  # typo
        ("insolvnz droht", "insolvency"),  # typo
        ("inzolvenz", "insolvency"),  # typo
        ("Wir sind zahlungsunfähig", "insolvency"),
        ("wir sind zahlungsunfahig", "insolvency"),  # umlaut left out
        ("wir sind zahlungsunfaehig", "insolvency"),
        ("kurz vor dem Bankrott", "insolvency"),
        ("we are bankrupt", "insolvency"),
        # wages
        ("Ich kann die Löhne nicht zahlen", "wages"),
        ("ich kann die lohne nicht mehr bezahlen", "wages"),
        ("ich kann die loehne nicht zahlen", "wages"),
        ("Ich kann das Gehalt nicht mehr zahlen", "wages"),
        ("Gehälter kann ich keine mehr überweisen", "wages"),
        ("gehalter kann ich nicht bezalen", "wages"),  # two typos, still clear
        ("Ich kann meine Mitarbeiter nicht mehr bezahlen", "wages"),
        ("Die Lohnzahlung ist nicht mehr möglich", "wages"),
        ("Ich weiß nicht, wie ich nächsten Monat die Löhne zahlen soll", "wages"),
        ("I can't pay the wages", "wages"),
        # closure
        ("Wir werden den Laden dichtmachen müssen", "closure"),
        ("wir machen den laden dicht", "closure"),
        ("Ich muss meinen Betrieb aufgeben", "closure"),
        ("ich gebe meinen laden auf", "closure"),
        ("wir schließen das Geschäft für immer", "closure"),
        ("wir schliessen das geschaeft fuer immer", "closure"),
        ("Mein Friseurladen muss wohl endgültig schließen", "closure"),
        ("Geschäftsaufgabe ist wohl unvermeidlich", "closure"),
        ("we have to close the business for good", "closure"),
        # ruin
        ("Ich verliere alles", "ruin"),
        ("wir haben alles verloren", "ruin"),
        ("Unsere Existenz ist bedroht", "ruin"),
        ("Das ist existenzbedrohend für uns", "ruin"),
        ("wir stehen vor dem Aus", "ruin"),
        ("I'm about to lose everything", "ruin"),
    ],
)
def test_urgent_messages(text: str, signal: str) -> None:
    assert signal in detect(text)


@pytest.mark.parametrize(
    "text",
    [
        "Wie beantrage ich Kurzarbeitergeld?",
        "Wie zahle ich die Löhne bei Kurzarbeit?",
        "Ich möchte mein Gewerbe abmelden",
        "Darf ich meinen Laden öffnen?",
        "Muss ich mein Geschäft wegen der Verordnung schließen?",
        "Ich leite einen Betrieb mit 12 Leuten",
        "Wo gebe ich die Anzeige über Arbeitsausfall auf?",
        "Lohnt sich die Förderung nicht?",
        "Die Konkurrenz ist groß",
        "Spielt die Anzahl der Mitarbeiter keine Rolle?",
        "Ich möchte eine Existenzgründung planen",
        "Kann ich die Miete nicht zahlen?",
        "Ich kann die Gewerbesteuer nicht zahlen, gibt es eine Stundung?",
        "Ich möchte das Formular herunterladen",
        "Unsere Mitarbeiter sind in Quarantäne",
        "Ich will mit einem Menschen reden",
        "/human_handoff",
        "",
    ],
)
def test_ordinary_messages_are_not_urgent(text: str) -> None:
    assert detect(text) == []


def test_several_signals_in_the_order_of_signals() -> None:
    text = "Wir sind pleite. Ich kann die Löhne nicht zahlen und verliere alles."
    assert detect(text) == ["wages", "insolvency", "ruin"]
    assert set(SIGNALS) == {"wages", "insolvency", "closure", "ruin"}


def test_none_and_long_messages() -> None:
    assert detect(None) == []
    assert detect("Guten Tag. " * 2000 + "Wir sind pleite.") == []  # only the first 5000 characters count
    assert detect("Wir sind pleite. " + "x " * 100) == ["insolvency"]


def test_fold_spells_out_umlauts() -> None:
    assert (
        fold("Löhne, Gehälter, Schließung, ÜBERSCHULDET") == "loehne, gehaelter, schliessung, ueberschuldet"
    )
    assert fold("can't") == "can not"


@pytest.mark.parametrize(
    ("a", "b", "close"),
    [
        ("insolvenz", "insolvenz", True),
        ("insolvnz", "insolvenz", True),  # deletion
        ("inssolvenz", "insolvenz", True),  # insertion
        ("insolvens", "insolvenz", True),  # substitution
        ("insolvezn", "insolvenz", True),  # swap
        ("insovlezn", "insolvenz", False),
        ("pleite", "leite", True),
    ],
)
def test_edit_distance(a: str, b: str, close: bool) -> None:
    assert edit_distance_at_most_one(a, b) is close


def test_near_needs_long_words_and_the_same_first_letter() -> None:
    assert near("plaite", ("pleite",))
    assert not near("leite", ("pleite",))  # "ich leite den Betrieb"
    assert not near("bleite", ("pleite",))


def test_merge_keeps_known_signals() -> None:
    assert merge(None, ["ruin"]) == ["ruin"]
    assert merge(["insolvency"], ["ruin", "insolvency"]) == ["insolvency", "ruin"]
    assert merge("not a list", ["wages"]) == ["wages"]
