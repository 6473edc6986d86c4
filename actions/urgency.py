"""Urgent signals in a user's message: wages that cannot be paid, insolvency, closing for good, ruin.

A small keyword matcher, not a classifier: it looks at one sentence at a time, folds umlauts
(ä → ae …) and tolerates one typo in the longer keywords ("insolvnz", "plaite", "zahlungsunfahig").
Codes (``urgent_signals`` in docs/escalation-contract.md): ``wages``, ``insolvency``, ``closure``, ``ruin``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

SIGNALS: tuple[str, ...] = ("wages", "insolvency", "closure", "ruin")

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_SENTENCE = re.compile(r"[.!?;:\n]+")
_TOKEN = re.compile(r"[a-z0-9]+")
_NOT_CONTRACTION = re.compile(r"n[’']t\b")  # English "can't" -> "can not"

# --- word lists (folded: ae/oe/ue/ss, lower case) -------------------------------------------

INSOLVENCY_STEMS = (
    "insolven",
    "pleite",
    "bankrott",
    "zahlungsunfaehig",
    "konkurs",
    "ueberschuld",
    "bankrupt",
)
INSOLVENCY_WORDS = (
    "insolvenz",
    "insolvent",
    "pleite",
    "bankrott",
    "zahlungsunfaehig",
    "konkurs",
    "ueberschuldet",
    "bankrupt",
    "insolvency",
)

WAGE_STEMS = ("lohn", "loehn", "gehalt", "gehaelt", "wage", "salar", "payroll")
WAGE_NOT = ("lohnt", "lohnen", "lohnend")  # "es lohnt sich nicht" is not about wages
WAGE_WORDS = ("loehne", "gehaelter", "gehalter")
STAFF_STEMS = (
    "mitarbeiter",
    "angestellte",
    "beschaeftigte",
    "belegschaft",
    "personal",
    "arbeitnehmer",
    "azubi",
    "leute",
    "staff",
    "employee",
    "worker",
)
NEGATIONS = frozenset(
    {
        "nicht",
        "nich",
        "nciht",
        "nihct",
        "net",
        "kein",
        "keine",
        "keinen",
        "keiner",
        "kaum",
        "nimmer",
        "not",
        "cannot",
        "unable",
        "no",
    }
)
PAY_PREFIXES = (
    "zahl",
    "zal",
    "bezahl",
    "bezal",
    "gezahlt",
    "auszahl",
    "weiterzahl",
    "ueberweis",
    "aufbring",
    "stemm",
    "finanzier",
    "pay",
    "paid",
    "afford",
)
PAY_SUFFIXES = ("zahlen", "zahlt", "zahlung", "zahlungen")
NOT_PAY = ("anzahl", "zahlreich")

BUSINESS_STEMS = (
    "laden",
    "geschaeft",
    "betrieb",
    "firma",
    "unternehmen",
    "restaurant",
    "lokal",
    "cafe",
    "kneipe",
    "praxis",
    "werkstatt",
    "salon",
    "hotel",
    "gaststaette",
    "baeckerei",
    "shop",
    "existenz",
    "selbststaendigkeit",
    "gewerbe",
    "business",
    "company",
    "store",
)
CLOSURE_WORDS = ("geschaeftsaufgabe", "betriebsaufgabe", "geschaeftsaufloesung", "betriebsaufloesung")
GIVE_UP_STEMS = ("aufgeb", "aufgegeben", "aufzugeben", "aufgibt")
SEPARABLE_GIVE = frozenset({"gebe", "geben", "gibt", "geb", "gaben", "gab"})
NOT_A_BUSINESS_GIVE_UP = frozenset({"anzeige", "antrag", "bestellung", "inserat", "paket", "hoffnung"})
SHUT_STEMS = ("schliess", "zumach", "zugemacht", "aufhoer", "close", "closing", "shut")
PERMANENT = ("endgueltig", "dauerhaft", "permanent")
PERMANENT_PAIRS = (("fuer", "immer"), ("fuer", "gut"), ("for", "good"), ("out", "of", "business"))

RUIN_STEMS = ("existenzbedroh", "existenzgefaehrd", "existenzangst", "existenzvernicht", "ruinier", "ruin")
EXISTENCE_THREATS = ("bedroh", "gefaehrd", "vernicht", "kaputt", "spiel", "ruinier")
LOSE_STEMS = ("verlier", "verlor", "lose", "losing", "lost")
EVERYTHING = frozenset({"alles", "everything", "all"})


def fold(text: str) -> str:
    """Lower case with German umlauts and ß spelled out ('Löhne' -> 'loehne')."""
    return _NOT_CONTRACTION.sub("n not", text.casefold()).translate(_FOLD)


def sentences(text: str) -> list[list[str]]:
    """Folded tokens per sentence."""
    return [tokens for part in _SENTENCE.split(fold(text)) if (tokens := _TOKEN.findall(part))]


def edit_distance_at_most_one(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long_ = (a, b) if la < lb else (b, a)
    for i in range(len(long_)):
        if long_[:i] + long_[i + 1 :] == short:
            return True
    return False


def near(token: str, words: Sequence[str]) -> bool:
    """``token`` is one of ``words`` or one typo away from one (words of 6+ letters, same first letter)."""
    for word in words:
        if token == word:
            return True
        if (
            len(word) >= 6
            and len(token) >= 5
            and token[0] == word[0]
            and edit_distance_at_most_one(token, word)
        ):
            return True
    return False


def _has_stem(tokens: Sequence[str], stems: Sequence[str], *, prefix: bool = False) -> bool:
    if prefix:
        return any(token.startswith(stems) for token in tokens)
    return any(stem in token for token in tokens for stem in stems)


def _has_sequence(tokens: Sequence[str], sequence: Sequence[str]) -> bool:
    n = len(sequence)
    return any(tuple(tokens[i : i + n]) == tuple(sequence) for i in range(len(tokens) - n + 1))


def _insolvency(tokens: Sequence[str]) -> bool:
    return _has_stem(tokens, INSOLVENCY_STEMS) or any(near(t, INSOLVENCY_WORDS) for t in tokens)


def _is_wage_word(token: str) -> bool:
    if token.startswith(WAGE_NOT):
        return False
    return token.startswith(WAGE_STEMS) or near(token, WAGE_WORDS) or token.startswith(STAFF_STEMS)


def _is_pay_word(token: str) -> bool:
    if token.startswith(NOT_PAY):
        return False
    return token.startswith(PAY_PREFIXES) or token.endswith(PAY_SUFFIXES)


def _wages(tokens: Sequence[str]) -> bool:
    return (
        any(_is_wage_word(t) for t in tokens)
        and any(t in NEGATIONS for t in tokens)
        and any(_is_pay_word(t) for t in tokens)
    )


def _closure(tokens: Sequence[str]) -> bool:
    if any(t.startswith(CLOSURE_WORDS) for t in tokens):
        return True
    if any(t.startswith("dichtmach") or t.startswith("dichtgemacht") for t in tokens):
        return True
    if "dicht" in tokens and any(t.startswith("mach") for t in tokens):
        return True
    business = _has_stem(tokens, BUSINESS_STEMS, prefix=True) or any(
        stem in t for t in tokens for stem in ("geschaeft", "betrieb", "laden")
    )
    if business and _has_stem(tokens, GIVE_UP_STEMS, prefix=True):
        return True
    if (
        business
        and "auf" in tokens
        and SEPARABLE_GIVE.intersection(tokens)
        and not NOT_A_BUSINESS_GIVE_UP.intersection(tokens)
    ):
        return True
    permanent = _has_stem(tokens, PERMANENT, prefix=True) or any(
        _has_sequence(tokens, pair) for pair in PERMANENT_PAIRS
    )
    shut = any(stem in t for t in tokens for stem in SHUT_STEMS)
    return permanent and (shut or _has_sequence(tokens, ("out", "of", "business")))


def _ruin(tokens: Sequence[str]) -> bool:
    if _has_stem(tokens, RUIN_STEMS, prefix=True):
        return True
    if any(t.startswith("existenz") for t in tokens) and _has_stem(tokens, EXISTENCE_THREATS):
        return True
    if _has_sequence(tokens, ("vor", "dem", "aus")) or _has_sequence(tokens, ("vor", "dem", "nichts")):
        return True
    for i, token in enumerate(tokens):
        if token.startswith(LOSE_STEMS) and EVERYTHING.intersection(tokens[max(0, i - 3) : i + 4]):
            return True
    return False


_CHECKS: dict[str, Callable[[Sequence[str]], bool]] = {
    "wages": _wages,
    "insolvency": _insolvency,
    "closure": _closure,
    "ruin": _ruin,
}


def detect(text: str | None) -> list[str]:
    """Urgent signals found in ``text`` (codes in the order of SIGNALS; empty if none)."""
    if not text or text.startswith("/"):  # button payloads carry no words of the user
        return []
    found: set[str] = set()
    for tokens in sentences(text[:5000]):
        found.update(code for code, check in _CHECKS.items() if code not in found and check(tokens))
    return [code for code in SIGNALS if code in found]


def merge(known: object, new: Sequence[str]) -> list[str]:
    """Signals already in the slot ``urgent_signals`` plus ``new`` ones, without duplicates, in SIGNALS order."""
    have = {s for s in known if isinstance(s, str)} if isinstance(known, (list, tuple)) else set()
    have.update(new)
    return [code for code in SIGNALS if code in have] + sorted(have - set(SIGNALS))
