"""Reading the answers of the contact form: names, e-mail, German phone numbers, skip, yes/no, channel.

Plain functions on text, no Rasa: the form validation (actions/escalation.py) calls them per slot.
"""

from __future__ import annotations

import re

from actions.urgency import fold

NAME_MAX = 100
COMPANY_MAX = 120
DESCRIPTION_MIN = 10
DESCRIPTION_MAX = 1000
EMAIL_MAX = 254

#: Values of the slot ``preferred_channel`` (and of ``contact.preferred_channel`` in a case).
CHANNELS: tuple[str, ...] = ("email", "phone", "any")

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9äöüÄÖÜß.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9äöüÄÖÜ](?:[A-Za-z0-9äöüÄÖÜ-]*[A-Za-z0-9äöüÄÖÜ])?"
    r"(?:\.[A-Za-z0-9äöüÄÖÜ](?:[A-Za-z0-9äöüÄÖÜ-]*[A-Za-z0-9äöüÄÖÜ])?)*\.[A-Za-z]{2,24}\b"
)
#: A run of digits with the separators people type in phone numbers (no dots: dates, amounts).
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d \t/()\-]{4,}\d(?!\d)")
_WORDS = re.compile(r"[a-z0-9]+")

_NAME_LEADS = re.compile(
    r"^\s*(?:(?:ich\s+hei(?:ß|ss)e|mein\s+name\s+ist|ich\s+bin|hier\s+(?:ist|spricht)|das\s+ist|name\s*:|"
    r"my\s+name\s+is|i\s+am|i'm|this\s+is)\s+)",
    re.IGNORECASE,
)
_COMPANY_LEADS = re.compile(
    r"^\s*(?:(?:wir\s+sind(?:\s+die|\s+der|\s+das)?|ich\s+bin\s+von(?:\s+der|\s+dem)?|ich\s+schreibe\s+für"
    r"(?:\s+die|\s+den|\s+das)?|für(?:\s+die|\s+den|\s+das)?|von(?:\s+der|\s+dem)?|unternehmen\s*:|firma\s*:?|"
    r"company\s*:?|we\s+are)\s+)",
    re.IGNORECASE,
)

#: Answers that are not a name or a company (folded).
NOT_A_NAME = frozenset(
    {
        "ja", "nein", "ok", "okay", "hallo", "hi", "danke", "tschuess", "egal", "keine ahnung", "weiss nicht",
        "moin", "servus", "bitte", "gerne", "gern", "test", "hilfe", "mensch", "mitarbeiter", "warum",
        "wieso", "was", "wie bitte", "yes", "no", "thanks", "hello",
    }
)  # fmt: skip

SKIP_PHRASES = frozenset(
    {
        "ueberspringen", "uberspringen", "skip", "weiter", "keine angabe", "keine angaben", "nein", "nee",
        "no", "ne", "noe", "lieber nicht", "moechte ich nicht", "will ich nicht", "moechte ich nicht sagen",
        "moechte ich nicht angeben", "nicht angeben", "ohne", "brauchen sie nicht", "pass", "deny",
    }
)  # fmt: skip
_SKIP_PREFIXES = ("ueberspring", "uberspring", "skip", "keine angabe")
_NONE_PREFIXES = ("kein", "habe kein", "hab kein", "ich habe kein", "gibt es nicht", "haben wir nicht")

YES_WORDS = frozenset(
    {"ja", "jo", "jap", "jep", "jawohl", "gerne", "gern", "klar", "ok", "okay", "einverstanden", "yes", "sure",
     "passt", "natuerlich", "selbstverstaendlich", "yep", "yeah", "affirm"}
)  # fmt: skip
NO_WORDS = frozenset({"nein", "nee", "ne", "noe", "no", "nicht", "keinesfalls", "nope", "deny", "niemals"})

_ANY_CHANNEL = (
    "egal",
    "beides",
    "beliebig",
    "gleich",
    "any",
    "either",
    "both",
    "wie sie wollen",
    "ist mir recht",
)
_MAIL_WORDS = ("mail", "schriftlich")
_PHONE_WORDS = (
    "telefon",
    "anruf",
    "rufen",
    "ruft",
    "ruf mich",
    "rueckruf",
    "phone",
    "handy",
    "call",
    "mobil",
)


def words(text: str) -> list[str]:
    return _WORDS.findall(fold(text))


def plain(text: str) -> str:
    """Folded words joined by single spaces ('Keine Angabe!' -> 'keine angabe')."""
    return " ".join(words(text))


def is_skip(text: str | None) -> bool:
    """The user does not want to answer ('überspringen', 'keine Angabe', 'nein', 'habe keine')."""
    if not text:
        return False
    said = plain(text)
    if said in SKIP_PHRASES or said.startswith(_SKIP_PREFIXES):
        return True
    return said.startswith(_NONE_PREFIXES) and len(said.split()) <= 5


def _tidy(text: str) -> str:
    return " ".join(text.split()).strip(" .,;:!?\"'„“”()")


def clean_name(text: str | None) -> str | None:
    """A person's name from the answer ('Ich heiße Anna Schmidt.' -> 'Anna Schmidt'), or None."""
    if not text:
        return None
    if "?" in text:
        return None
    name = _tidy(_NAME_LEADS.sub("", text, count=1))
    if not 2 <= len(name) <= NAME_MAX or plain(name) in NOT_A_NAME:
        return None
    if any(ch.isdigit() for ch in name) or "@" in name or len(name.split()) > 6:
        return None
    if sum(ch.isalpha() for ch in name) < 2:
        return None
    return name


def clean_company(text: str | None) -> str | None:
    """A company name ('Wir sind die Müller Bau GmbH' -> 'Müller Bau GmbH'), or None."""
    if not text:
        return None
    if "?" in text:
        return None
    company = _tidy(_COMPANY_LEADS.sub("", text, count=1))
    if not 2 <= len(company) <= COMPANY_MAX or plain(company) in NOT_A_NAME:
        return None
    if "@" in company or len(company.split()) > 12 or sum(ch.isalpha() for ch in company) < 2:
        return None
    return company


def valid_email(value: str) -> bool:
    """Syntax check of a single address (no lookup of the domain)."""
    if not value or len(value) > EMAIL_MAX or _EMAIL.fullmatch(value) is None:
        return False
    local, _, domain = value.rpartition("@")
    return len(local) <= 64 and ".." not in value and not local.startswith(".") and not local.endswith(".")


def find_email(text: str | None) -> str | None:
    """The first valid e-mail address in ``text`` (domain in lower case), or None."""
    for match in _EMAIL.finditer(text or ""):
        candidate = match.group().rstrip(".")
        if valid_email(candidate):
            local, _, domain = candidate.rpartition("@")
            return f"{local}@{domain.lower()}"
    return None


def normalize_phone(raw: str | None) -> str | None:
    """A German phone number as E.164 ('0621 123456' -> '+49621123456'); None if it is not one.

    Accepts 0621 123456, 0621/123456, (0621) 123456, +49 621 123456, +49 (0) 621 123456, 0049 621 123456,
    0170-1234567 and extensions (0621 123456-0). Foreign numbers (+33 …) and numbers without area code
    are refused.
    """
    if not raw:
        return None
    text = raw.strip().replace("(0)", "")
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        if not digits.startswith("49"):
            return None
        national = digits[2:]
    elif digits.startswith("0049"):
        national = digits[4:]
    elif digits.startswith("00"):
        return None
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        return None
    national = national.removeprefix("0")  # "+49 0621 …"
    if not 6 <= len(national) <= 13 or national[0] == "0":
        return None
    if national.startswith(("15", "16", "17")) and not 10 <= len(national) <= 11:
        return None  # mobile numbers: 015x/016x/017x + 7-8 digits
    return "+49" + national


def find_phone(text: str | None) -> str | None:
    """The first German phone number in ``text`` (E.164), or None."""
    for match in _PHONE_CANDIDATE.finditer(text or ""):
        phone = normalize_phone(match.group())
        if phone:
            return phone
    return None


def strip_contacts(text: str) -> str:
    """``text`` without e-mail addresses and phone numbers ('Anna Schmidt, 0621 123456' -> 'Anna Schmidt')."""
    return " ".join(_PHONE_CANDIDATE.sub(" ", _EMAIL.sub(" ", text)).split()).strip(" ,;:-")


def parse_channel(text: str | None) -> str | None:
    """'E-Mail' -> 'email', 'Telefon'/'Rückruf' -> 'phone', 'egal'/'beides' -> 'any', else None."""
    if not text:
        return None
    said = plain(text)
    if said in CHANNELS:
        return said
    tokens = said.split()
    if any((word in said) if " " in word else (word in tokens) for word in _ANY_CHANNEL):
        return "any"
    mail = min((said.find(w) for w in _MAIL_WORDS if w in said), default=-1)
    phone = min((said.find(w) for w in _PHONE_WORDS if w in said), default=-1)
    if mail >= 0 and phone >= 0:
        lieber = said.find("lieber")
        if lieber >= 0:
            after = {k: v for k, v in (("email", mail), ("phone", phone)) if v > lieber}
            if after:
                return min(after, key=after.__getitem__)
        return "any"
    if mail >= 0:
        return "email"
    if phone >= 0 or said in ("tel", "anrufen"):
        return "phone"
    return None


_UNSURE = ("weiss nicht", "weiss ich nicht", "keine ahnung", "vielleicht", "mal sehen", "not sure", "maybe")


def parse_yes_no(text: str | None) -> bool | None:
    """True for 'ja'/'gerne'/'einverstanden', False for 'nein'/'nicht einverstanden', else None."""
    said = plain(text or "")
    if said.startswith(_UNSURE):
        return None
    if said.startswith("warum nicht"):
        return True
    tokens = set(said.split())
    if tokens & NO_WORDS:
        return False
    if tokens & YES_WORDS:
        return True
    return None


def clean_description(text: str | None) -> tuple[str | None, str | None]:
    """(description, None) or (None, 'too_short'|'too_long'); whitespace collapsed."""
    description = " ".join((text or "").split())
    if len(description) < DESCRIPTION_MIN:
        return None, "too_short"
    if len(description) > DESCRIPTION_MAX:
        return None, "too_long"
    return description, None
