"""Masking contact data for logs: cases are logged by number, never with readable e-mail or phone."""

from __future__ import annotations


def mask_email(value: str | None) -> str:
    """'anna.schmidt@mueller-bau.de' -> 'a***@m***.de'."""
    if not value or "@" not in value:
        return "-"
    local, _, domain = value.rpartition("@")
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""
    return f"{local[:1]}***@{host[:1]}***{dot}{tld}"


def mask_phone(value: str | None) -> str:
    """'+49621123456' -> '+49*******56' (country code and the last two digits stay)."""
    if not value:
        return "-"
    digits = value.strip()
    head = digits[:3] if digits.startswith("+") else digits[:1]
    tail = digits[-2:] if len(digits) >= 8 else ""
    return head + "*" * max(len(digits) - len(head) - len(tail), 3) + tail
