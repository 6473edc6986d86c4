"""Masking of personal data in log records: e-mail addresses, phone numbers, IBANs, session ids in paths.

``RedactingFilter`` is attached to every handler of the root logger by :func:`install` (filters on a logger
do not see records propagated from child loggers; filters on handlers see them all).
"""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# IBAN: two letters, two check digits, 11-30 alphanumerics, optionally in groups of four.
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
# Phone numbers: international (+49 …, 0049 …) or national with a leading 0 (0621 293-0, 0176/1234567).
# At least 6 digits in all; digits may be separated by single spaces, slashes, dashes, dots or "(0)".
PHONE = re.compile(
    r"(?<![\w.:/-])"
    r"(?:(?:\+|00)\d{1,3}[ ./-]?(?:\(0\)[ ./-]?)?|\(?0\d{1,5}\)?[ ./-]?)"
    r"\d(?:[ ./-]?\d){3,12}"
    r"(?![\w:])"
)
# Session ids authorise access to a conversation: keep them out of access logs.
SESSION_PATH = re.compile(r"(/conversations/)[^/\s?\"']+")

EMAIL_MASK = "[E-Mail]"
PHONE_MASK = "[Telefon]"
IBAN_MASK = "[IBAN]"


def redact(text: str) -> str:
    """``text`` with e-mail addresses, IBANs, phone numbers and conversation ids in URLs masked."""
    if not text:
        return text
    text = EMAIL.sub(EMAIL_MASK, text)
    text = IBAN.sub(IBAN_MASK, text)
    text = PHONE.sub(_phone_or_keep, text)
    return SESSION_PATH.sub(r"\1…", text)


def _phone_or_keep(match: re.Match[str]) -> str:
    value = match.group(0)
    digits = sum(ch.isdigit() for ch in value)
    # Dates (2024-05-01 / 01.05.2024) and times are not phone numbers.
    if re.fullmatch(r"\d{1,4}([.-])\d{1,2}\1\d{1,4}", value) or re.fullmatch(r"\d{1,2}\.\d{1,2}\.", value):
        return value
    return PHONE_MASK if digits >= 6 else value


class RedactingFilter(logging.Filter):
    """Masks personal data in the formatted message and in exception texts of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach one RedactingFilter to every handler of ``logger`` (default: the root logger)."""
    target = logger or logging.getLogger()
    flt = RedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(flt)
    return flt
