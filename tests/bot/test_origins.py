"""Allowed origins (REST, API and socket.io share the rule)."""

from __future__ import annotations

import pytest

from bot.origins import origin_allowed

OWN = "chat.mannheim.example"


@pytest.mark.parametrize(("origin", "allowed", "expected"), [
    (None, (), True),  # not a browser request
    ("http://127.0.0.1:8080", (), True),
    ("http://localhost:3000", (), True),
    ("http://localhost", (), True),
    ("HTTP://LOCALHOST:3000/", (), True),
    ("https://chat.mannheim.example", (), True),  # own origin
    ("https://localhost:3000", (), False),  # https is not in the default list
    ("http://127.0.0.1.nip.io:8080", (), False),
    ("http://localhost.evil.example", (), False),
    ("http://localhost:3000@evil.example", (), False),
    ("null", (), False),
    ("file://", (), False),
    ("https://evil.example", (), False),
    ("https://www.mannheim.de", ("https://www.mannheim.de",), True),
    ("https://www.mannheim.de:443", ("https://www.mannheim.de",), True),
    ("https://www.mannheim.de:8443", ("https://www.mannheim.de",), False),
    ("http://localhost:3000", ("https://www.mannheim.de",), False),  # the list replaces the default
    ("https://chat.mannheim.example", ("https://www.mannheim.de",), True),  # own origin always
    ("http://intranet:9000", ("http://intranet:*",), True),
    ("http://intranet:abc", ("http://intranet:*",), False),
])
def test_origin_rule(origin, allowed, expected) -> None:
    assert origin_allowed(origin, OWN, allowed) is expected
