"""Hygiene of the held-out NLU test sets (no model, no Rasa import; PyYAML or ruamel.yaml only).

A test message that is a copy or a near copy of a training example measures memory, not generalisation.
Checked here:

- tests/nlu/testset.yml has no message that equals a training example of data/nlu/**/*.yml or lies
  within a small edit distance of one (after normalising: lower case, umlauts spelled out, punctuation
  removed, whitespace collapsed; entity annotations reduced to their text);
- every intent of domain.yml has at least ``MIN_PER_INTENT`` test messages, and the test set uses only
  intents of domain.yml (domain.yml is the truth: new intents count once they are listed there);
- tests/nlu/realworld.yml (real questions, if present) has no copies or near copies of training examples
  either, and every item names its origin in ``metadata.source`` as an https URL.

Run alone: ``pytest tests/rasa/test_testset_hygiene.py`` (either environment; plain ``python3 -m pytest``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRAINING_DIR = ROOT / "data" / "nlu"
TESTSET = ROOT / "tests" / "nlu" / "testset.yml"
REALWORLD = ROOT / "tests" / "nlu" / "realworld.yml"
DOMAIN = ROOT / "domain.yml"

MIN_PER_INTENT = 8
# Intents of domain.yml that may have fewer than MIN_PER_INTENT test messages: {intent: reason}.
EXEMPT_FROM_MINIMUM: dict[str, str] = {}

# [text](entity), [text]{"entity": ..., "value": ...}, [text][{...}, {...}] (Rasa's annotation forms)
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss"})


@dataclass(frozen=True)
class Example:
    text: str  # annotation reduced to its text
    intent: str
    origin: str  # file relative to the repository root
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def norm(self) -> str:
        return normalise(self.text)


def strip_annotations(text: str) -> str:
    return _ANNOTATION.sub(r"\1", text)


def normalise(text: str) -> str:
    text = strip_annotations(text).lower().translate(_UMLAUTS)
    text = _PUNCTUATION.sub("", text)
    return " ".join(text.split())


def threshold(a: str, b: str) -> int:
    """Largest edit distance that still counts as a near copy: max(3, 10 % of the longer string)."""
    return max(3, max(len(a), len(b)) // 10)


def bounded_levenshtein(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of a and b if it is <= limit, otherwise limit + 1.

    Only the diagonal band of width 2 * limit + 1 is computed, and the computation stops as soon as a
    whole row exceeds the limit; pairs whose lengths differ by more than the limit are not computed at all.
    """
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if len(a) > len(b):
        a, b = b, a
    if not a:
        return len(b)
    over = limit + 1
    n = len(b)
    previous = [j if j <= limit else over for j in range(n + 1)]
    for i, char in enumerate(a, 1):
        lo, hi = max(1, i - limit), min(n, i + limit)
        current = [over] * (n + 1)
        current[0] = i if i <= limit else over
        best = current[0]
        for j in range(lo, hi + 1):
            value = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (char != b[j - 1]),
            )
            if value > over:
                value = over
            current[j] = value
            if value < best:
                best = value
        if best > limit:
            return over
        previous = current
    return min(previous[n], over)


# ---------------------------------------------------------------- loading


def _load_yaml(path: Path) -> Any:
    try:
        import yaml
    except ImportError:  # the Rasa environment has both; ruamel as a fallback
        from ruamel.yaml import YAML

        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _examples_of(block: dict, origin: str) -> list[Example]:
    intent = str(block["intent"])
    raw = block.get("examples") or []
    out: list[Example] = []
    if isinstance(raw, str):  # "- text\n- text" (Rasa's usual block form)
        for line in raw.splitlines():
            line = line.strip()
            if line.startswith("- "):
                line = line[2:].strip()
            elif line == "-":
                continue
            if line:
                out.append(Example(strip_annotations(line), intent, origin))
        return out
    for item in raw:  # list form: plain strings or {"text": ..., "metadata": {...}}
        if isinstance(item, dict):
            text, metadata = str(item.get("text") or "").strip(), item.get("metadata") or {}
        else:
            text, metadata = str(item).strip(), {}
        if text.startswith("- "):
            text = text[2:].strip()
        if text:
            meta = metadata if isinstance(metadata, dict) else {"value": metadata}
            out.append(Example(strip_annotations(text), intent, origin, meta))
    return out


def load_examples(path: Path) -> list[Example]:
    data = _load_yaml(path) or {}
    origin = str(path.relative_to(ROOT))
    out: list[Example] = []
    for block in data.get("nlu") or []:
        if isinstance(block, dict) and "intent" in block:  # not lookup / synonym / regex
            out.extend(_examples_of(block, origin))
    return out


def load_training() -> list[Example]:
    files = sorted(TRAINING_DIR.rglob("*.yml")) + sorted(TRAINING_DIR.rglob("*.yaml"))
    return [ex for path in files for ex in load_examples(path)]


def domain_intents() -> list[str]:
    data = _load_yaml(DOMAIN) or {}
    names = []
    for item in data.get("intents") or []:
        names.append(next(iter(item)) if isinstance(item, dict) else str(item))
    return names


# ---------------------------------------------------------------- copy detection


@dataclass(frozen=True)
class Copy:
    test: Example
    training: Example
    distance: int

    def describe(self) -> str:
        kind = "exact copy" if self.distance == 0 else f"near copy (distance {self.distance})"
        return (
            f"[{self.test.intent}] {self.test.text!r} — {kind} of {self.training.origin} "
            f"[{self.training.intent}] {self.training.text!r}"
        )


def find_copies(tests: list[Example], training: list[Example]) -> list[Copy]:
    """For each test message the closest training example within the threshold (exact matches first)."""
    by_norm: dict[str, Example] = {}
    by_length: dict[int, list[tuple[str, Counter[str], Example]]] = {}
    for ex in training:
        norm = ex.norm
        if norm not in by_norm:
            by_norm[norm] = ex
            by_length.setdefault(len(norm), []).append((norm, Counter(norm), ex))
    copies = []
    for test in tests:
        norm = test.norm
        if norm in by_norm:
            copies.append(Copy(test, by_norm[norm], 0))
            continue
        best: Copy | None = None
        # lengths L with |L - n| <= max(3, max(L, n) // 10) satisfy L <= n * 10 / 9: this reach covers them
        reach = max(3, len(norm) // 9 + 2)
        chars = Counter(norm)
        for length in range(max(0, len(norm) - reach), len(norm) + reach + 1):
            for other, other_chars, ex in by_length.get(length, ()):
                limit = threshold(norm, other)
                if best is not None:
                    limit = min(limit, best.distance - 1)
                if limit < 0 or abs(len(norm) - len(other)) > limit:
                    continue
                # cheap lower bound first: characters one string has and the other lacks
                if max(sum((chars - other_chars).values()), sum((other_chars - chars).values())) > limit:
                    continue
                distance = bounded_levenshtein(norm, other, limit)
                if distance <= limit:
                    best = Copy(test, ex, distance)
        if best is not None:
            copies.append(best)
    return copies


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def training() -> list[Example]:
    examples = load_training()
    assert examples, f"no intent examples found under {TRAINING_DIR}"
    return examples


@pytest.fixture(scope="module")
def testset() -> list[Example]:
    examples = load_examples(TESTSET)
    assert examples, f"no intent examples in {TESTSET}"
    return examples


@pytest.fixture(scope="module")
def realworld() -> list[Example]:
    if not REALWORLD.exists():
        pytest.skip(f"{REALWORLD.relative_to(ROOT)} does not exist (yet)")
    return load_examples(REALWORLD)


# ---------------------------------------------------------------- helpers' own tests


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('Wir sind eine [Bäckerei]{"entity": "industry", "value": "handwerk"}!', "wir sind eine baeckerei"),
        ("[12](employees) Leute in [Neckarau](district) – Kurzarbeit?", "12 leute in neckarau kurzarbeit"),
        ("  GROẞE   Grüße,\tÖl-Preis  ", "grosse gruesse oelpreis"),
        ("e-mail: info@mueller-bau.de", "email infomuellerbaude"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("abc", "", 3),
        ("kurzarbeit", "kurzarbiet", 2),
        ("gumbo", "gambol", 2),
    ],
)
def test_bounded_levenshtein(a: str, b: str, distance: int) -> None:
    assert bounded_levenshtein(a, b, 10) == distance
    assert bounded_levenshtein(b, a, 10) == distance
    assert bounded_levenshtein(a, b, distance) == distance
    if distance:
        assert bounded_levenshtein(a, b, distance - 1) == distance  # capped at limit + 1


def test_threshold_is_three_or_ten_percent_of_the_longer_message() -> None:
    assert threshold("ja", "nein") == 3
    assert threshold("x" * 45, "y" * 60) == 6


# ---------------------------------------------------------------- the test set


def test_testset_has_no_copies_of_training_examples(testset: list[Example], training: list[Example]) -> None:
    copies = find_copies(testset, training)
    exact = sum(1 for c in copies if c.distance == 0)
    assert not copies, (
        f"{len(copies)} test messages copy training examples ({exact} exact, {len(copies) - exact} near; "
        "rewrite them as genuinely different messages or remove them):\n"
        + "\n".join(c.describe() for c in copies)
    )


def test_testset_has_no_duplicate_messages(testset: list[Example]) -> None:
    counts = Counter(ex.norm for ex in testset)
    duplicates = sorted(norm for norm, n in counts.items() if n > 1)
    assert not duplicates, f"messages that occur more than once in {TESTSET.name}: {duplicates}"


def test_testset_uses_only_domain_intents(testset: list[Example]) -> None:
    known = set(domain_intents())
    unknown = sorted({ex.intent for ex in testset} - known)
    assert not unknown, f"intents in {TESTSET.name} that domain.yml does not list: {unknown}"


def test_every_domain_intent_has_enough_test_messages(testset: list[Example]) -> None:
    counts = Counter(ex.intent for ex in testset)
    short = {
        intent: counts[intent]
        for intent in domain_intents()
        if intent not in EXEMPT_FROM_MINIMUM and counts[intent] < MIN_PER_INTENT
    }
    assert not short, f"intents with fewer than {MIN_PER_INTENT} test messages: {short}"


def test_exemptions_name_domain_intents() -> None:
    stale = sorted(set(EXEMPT_FROM_MINIMUM) - set(domain_intents()))
    assert not stale, f"EXEMPT_FROM_MINIMUM names intents that domain.yml does not list: {stale}"


# ---------------------------------------------------------------- the real-question set


def test_realworld_has_no_copies_of_training_examples(
    realworld: list[Example], training: list[Example]
) -> None:
    copies = find_copies(realworld, training)
    assert not copies, f"{len(copies)} real-world messages copy training examples:\n" + "\n".join(
        c.describe() for c in copies
    )


def test_realworld_items_name_an_https_source(realworld: list[Example]) -> None:
    assert realworld, f"no intent examples in {REALWORLD.name}"

    def is_https_url(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        url = urlparse(value.strip())
        return url.scheme == "https" and bool(url.netloc) and " " not in value.strip()

    missing = [
        f"[{ex.intent}] {ex.text!r}: metadata.source = {ex.metadata.get('source')!r}"
        for ex in realworld
        if not is_https_url(ex.metadata.get("source"))
    ]
    assert not missing, (
        f"{len(missing)} items in {REALWORLD.name} without an https URL in metadata.source:\n"
        + "\n".join(missing)
    )
