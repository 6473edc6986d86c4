"""Masking of e-mail addresses, phone numbers and IBANs in log records."""

from __future__ import annotations

import logging

import pytest

from bot.redact import RedactingFilter, install, redact


@pytest.mark.parametrize(("text", "expected"), [
    ("Mail an max.mustermann@example.de bitte", "Mail an [E-Mail] bitte"),
    ("a.b-c+tag@sub.mannheim.de", "[E-Mail]"),
    ("Tel. 0621 293-0", "Tel. [Telefon]"),
    ("ruf +49 621 293 2222 an", "ruf [Telefon] an"),
    ("0176/12345678", "[Telefon]"),
    ("Handy: 0176 1234 5678.", "Handy: [Telefon]."),
    ("+49 (0) 621 293 0", "[Telefon]"),
    ("(0621) 2932222", "[Telefon]"),
    ("0049 621 2932222", "[Telefon]"),
    ("IBAN DE89 3704 0044 0532 0130 00 ok", "IBAN [IBAN] ok"),
    ("DE89370400440532013000", "[IBAN]"),
    ("AT611904300234573201", "[IBAN]"),
    ("GET /api/v1/conversations/0f3a9c1e8b7d4a2f9e1c/messages", "GET /api/v1/conversations/…/messages"),
])
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "2024-05-01 12:00:00,123 INFO started",
    "am 01.05.2024 um 10:00",
    "127.0.0.1:8080 took 0.123 s, 1234 bytes",
    "port 54321, pid 123456",
    "Kurzarbeit für 12 Mitarbeiter",
    "message 0190a1b2c3d47e5f8a9b0c1d2e3f4a5b",
    "uuid 550e8400-e29b-41d4-a716-446655440000",
    "HTTP 503 after 10.0 s",
])
def test_ordinary_log_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_filter_masks_arguments_and_exceptions(caplog) -> None:
    logger = logging.getLogger("tests.redact")
    records = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        logger.warning("Nutzer %s schrieb: %s", "max@example.org", "IBAN DE89370400440532013000")
        try:
            raise ValueError("Rückruf an 0621 2932222 erbeten")
        except ValueError:
            logger.exception("Fehler")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert "max@example.org" not in text and "DE8937" not in text and "2932222" not in text
    assert "[E-Mail]" in text and "[IBAN]" in text and "[Telefon]" in text
    assert "ValueError" in text  # the traceback is kept, only masked


def test_install_covers_records_of_child_loggers() -> None:
    root = logging.getLogger("tests.redact_root")
    root.propagate = False
    lines = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    root.addHandler(Collect())
    install(root)
    install(root)  # idempotent
    logging.getLogger("tests.redact_root.child.aiohttp").info("from %s", "a@b.de")
    root.setLevel(logging.INFO)
    logging.getLogger("tests.redact_root.child.aiohttp").info("from %s", "a@b.de")
    assert lines == ["from [E-Mail]"]
    assert sum(len(h.filters) for h in root.handlers) == 1
