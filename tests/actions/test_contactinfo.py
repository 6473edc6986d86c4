"""actions/contactinfo.py and actions/redaction.py: reading and masking the answers of the contact form."""

from __future__ import annotations

import pytest

from actions.contactinfo import (
    DESCRIPTION_MAX,
    clean_company,
    clean_description,
    clean_name,
    find_email,
    find_phone,
    is_skip,
    normalize_phone,
    parse_channel,
    parse_yes_no,
    strip_contacts,
    valid_email,
)
from actions.redaction import mask_email, mask_phone


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("anna@mueller-bau.de", "anna@mueller-bau.de"),
        ("Meine Mail: Anna.Schmidt@Mueller-Bau.DE.", "Anna.Schmidt@mueller-bau.de"),
        ("info+chat@sommer-backwaren.de bitte", "info+chat@sommer-backwaren.de"),
        ("müller@bäckerei-sommer.de", "müller@bäckerei-sommer.de"),
        ("x@y", None),
        ("anna@", None),
        ("foo..bar@x.de", None),
        (".anna@x.de", None),
        ("keine Mail", None),
        ("", None),
        (None, None),
    ],
)
def test_find_email(text: str | None, email: str | None) -> None:
    assert find_email(text) == email


def test_valid_email_limits() -> None:
    assert valid_email("a@b.de")
    assert not valid_email("a" * 65 + "@b.de")
    assert not valid_email("a@" + "b" * 250 + ".de")
    assert not valid_email("a b@c.de")


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("0621 123456", "+49621123456"),
        ("0621/123456", "+49621123456"),
        ("0621-123456", "+49621123456"),
        ("(0621) 123456", "+49621123456"),
        ("+49 621 123456", "+49621123456"),
        ("+49 (0) 621 123456", "+49621123456"),
        ("+49 0621 123456", "+49621123456"),
        ("0049 621 123456", "+49621123456"),
        ("0170-1234567", "+491701234567"),
        ("0170 0000000", "+491700000000"),
        ("0621 123456-0", "+496211234560"),
        ("meine Nummer ist 0621 123456, danke", "+49621123456"),
    ],
)
def test_german_phone_numbers(text: str, phone: str) -> None:
    assert find_phone(text) == phone


@pytest.mark.parametrize(
    "text",
    [
        "+33 1 23 45 67 89",
        "0033 1 2345678",
        "123456",
        "0621",
        "24.11.2026",
        "0170 12345",
        "IBAN DE12 3456",
        "",
    ],
)
def test_not_german_phone_numbers(text: str) -> None:
    assert find_phone(text) is None


def test_normalize_phone_needs_text() -> None:
    assert normalize_phone(None) is None
    assert normalize_phone("") is None
    assert normalize_phone("+49 170 123") is None  # mobile numbers are longer


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Anna Schmidt", "Anna Schmidt"),
        ("Ich heiße Anna Schmidt.", "Anna Schmidt"),
        ("mein name ist Jonas Becker", "Jonas Becker"),
        ("Dr. Müller-Lüdenscheidt", "Dr. Müller-Lüdenscheidt"),
        ("Mehmet Yılmaz", "Mehmet Yılmaz"),
        ("ja", None),
        ("Danke!", None),
        ("0621 123456", None),
        ("anna@x.de", None),
        ("Warum brauchen Sie meinen Namen?", None),
        ("A", None),
        ("x" * 101, None),
    ],
)
def test_clean_name(text: str, name: str | None) -> None:
    assert clean_name(text) == name


@pytest.mark.parametrize(
    ("text", "company"),
    [
        ("Müller Bau GmbH", "Müller Bau GmbH"),
        ("Wir sind die Müller Bau GmbH", "Müller Bau GmbH"),
        ("Firma Schmidt & Söhne", "Schmidt & Söhne"),
        ("2B Consulting", "2B Consulting"),
        ("für die Bäckerei Sommer", "Bäckerei Sommer"),
        ("hallo", None),
        ("?", None),
    ],
)
def test_clean_company(text: str, company: str | None) -> None:
    assert clean_company(text) == company


def test_strip_contacts() -> None:
    assert strip_contacts("Anna Schmidt, anna@x.de, 0621 123456") == "Anna Schmidt"


@pytest.mark.parametrize(
    "text",
    ["überspringen", "Überspringen bitte", "ueberspringen", "skip", "Keine Angabe!", "nein", "lieber nicht",
     "habe keine E-Mail", "ich habe keine Telefonnummer", "/deny"],
)  # fmt: skip
def test_skip(text: str) -> None:
    assert is_skip(text)


@pytest.mark.parametrize(
    "text", ["Anna Schmidt", "0621 123456", "keine Ahnung, was Sie meinen, das ist kompliziert", ""]
)
def test_not_skip(text: str) -> None:
    assert not is_skip(text)


@pytest.mark.parametrize(
    ("text", "channel"),
    [
        ("E-Mail", "email"),
        ("per Mail bitte", "email"),
        ("schriftlich", "email"),
        ("Telefon", "phone"),
        ("telefonisch", "phone"),
        ("rufen Sie mich an", "phone"),
        ("Rückruf", "phone"),
        ("egal", "any"),
        ("beides geht", "any"),
        ("ist mir gleich", "any"),
        ("E-Mail oder Telefon", "any"),
        ("lieber per Mail als Telefon", "email"),
        ("email", "email"),
        ("phone", "phone"),
        ("any", "any"),
        ("company", None),
        ("vielleicht", None),
        (None, None),
    ],
)
def test_parse_channel(text: str | None, channel: str | None) -> None:
    assert parse_channel(text) == channel


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Ja", True),
        ("ja gerne", True),
        ("einverstanden", True),
        ("yes", True),
        ("Nein", False),
        ("nicht einverstanden", False),
        ("nein danke", False),
        ("lieber nicht", False),
        ("vielleicht", None),
        ("weiß nicht", None),
        ("keine Ahnung", None),
        ("warum nicht", True),
        ("", None),
    ],
)
def test_parse_yes_no(text: str, answer: bool | None) -> None:
    assert parse_yes_no(text) is answer


def test_clean_description() -> None:
    assert clean_description("  Wir   brauchen\nHilfe bei der Kurzarbeit. ") == (
        "Wir brauchen Hilfe bei der Kurzarbeit.",
        None,
    )
    assert clean_description("Hilfe") == (None, "too_short")
    assert clean_description("x" * (DESCRIPTION_MAX + 1)) == (None, "too_long")
    assert clean_description("x" * DESCRIPTION_MAX) == ("x" * DESCRIPTION_MAX, None)
    assert clean_description(None) == (None, "too_short")


def test_masks_leave_no_readable_contact() -> None:
    assert mask_email("anna.schmidt@mueller-bau.de") == "a***@m***.de"
    assert mask_email(None) == "-"
    assert mask_phone("+49621123456") == "+49*******56"
    assert mask_phone("0621") == "0***"
    assert mask_phone(None) == "-"
