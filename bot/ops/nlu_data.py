"""The Rasa project's NLU training data as the operator console sees it: an index of every training example
(to hide what is already trained and to find conflicts), the held-out test set, the domain's intents and
entities, and the writer of confirmed examples.

Where examples go: one file per intent, ``data/nlu/operator/<intent>.yml`` (Rasa reads ``data/`` recursively),
each starting with a comment that says the operator console writes it. The writer edits these files with
ruamel.yaml's round-trip mode, so comments and the order of entries that someone added by hand stay as they
are. Every write is validated before it replaces the file: the new text is parsed again (Rasa 3 structure,
every example line ``- …``, the new examples present); it goes to a temporary file in the same folder and
replaces the old file with ``os.replace`` only then, so a failed write leaves the old file intact.

Refused with a German message (:class:`NluDataError`): unknown intents, ``nlu_fallback``, empty or overlong
texts, line breaks, bracket syntax that Rasa would read as an entity annotation (except annotations of the
domain's entities), and any text of the held-out test set ``tests/nlu/testset.yml``.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

OPERATOR_DIR = Path("data") / "nlu" / "operator"
TESTSET = Path("tests") / "nlu" / "testset.yml"
FALLBACK_INTENT = "nlu_fallback"
MAX_EXAMPLE_CHARS = 500
HEADER = ("Trainingsbeispiele aus dem NLU-Posteingang der Betriebskonsole (/ops/inbox).\n"
          "Die Konsole ergänzt diese Datei; Kommentare und Reihenfolge bleiben erhalten.\n"
          "Beispiele aus tests/nlu/testset.yml dürfen hier nie stehen.")
# [text](entity), [text]{"entity": …}
ANNOTATION = re.compile(r"\[([^\[\]\n]+)\](?:\(([^()\n]+)\)|(\{[^{}\n]*\}))")
_INTENT_NAME = re.compile(r"[A-Za-z0-9_]{1,200}")
_EDGE_PUNCT = " \t.,;:!?…-–—\"'„“”‚‘’«»()"
_QUOTES = str.maketrans({"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "«": '"', "»": '"'})


class NluDataError(ValueError):
    """Training data cannot be read or an example cannot be written (German message for the operator)."""


class ExampleConflict(NluDataError):
    """The text is already a training example of another intent."""

    def __init__(self, message: str, intent: str, file: str) -> None:
        super().__init__(message)
        self.intent = intent
        self.file = file


# --- text helpers ------------------------------------------------------------------------------------

def normalise(text: str) -> str:
    """The comparison form of a message: Unicode NFKC, case folded, one space between words, no quotes or
    punctuation at the ends ("Kurzarbeit??" and " kurzarbeit" are the same message)."""
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES).casefold()
    text = " ".join(text.split())
    return text.strip(_EDGE_PUNCT)[:1000]


def plain_text(example: str) -> str:
    """The text of a Rasa example without entity annotations (``[Neckarau](district)`` → ``Neckarau``)."""
    return ANNOTATION.sub(lambda m: m.group(1), example)


def _examples_of(value: Any) -> list[str]:
    """The example texts of one ``examples:`` value (block string of ``- …`` lines, or a list of dicts)."""
    if isinstance(value, str):
        texts = []
        for line in value.splitlines():
            line = line.strip()
            if line.startswith("- "):
                texts.append(line[2:].strip())
            elif line == "-":
                continue
        return texts
    if isinstance(value, list):
        return [str(item.get("text", "")) for item in value if isinstance(item, dict) and item.get("text")]
    return []


def _safe_load(path: Path) -> Any:
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the safe loader, in C when available
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise NluDataError(f"{path.name} kann nicht gelesen werden: {exc}") from exc


# --- index of the training data --------------------------------------------------------------------

@dataclass
class TrainingIndex:
    """Every training example by comparison key: key → {intent: [files relative to the project]}."""

    entries: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, intent: str, file: str, text: str) -> None:
        if not key:
            return
        files = self.entries.setdefault(key, {}).setdefault(intent, [])
        if file not in files:
            files.append(file)
        self.texts.setdefault(key, text)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def intents(self, key: str) -> dict[str, list[str]]:
        return self.entries.get(key, {})

    def conflicts(self) -> list[tuple[str, str, dict[str, list[str]]]]:
        """(key, an example text, {intent: files}) of texts that are examples of more than one intent."""
        return [(key, self.texts[key], intents) for key, intents in sorted(self.entries.items())
                if len(intents) > 1]


def data_files(project_dir: Path) -> list[Path]:
    data = project_dir / "data"
    if not data.is_dir():
        return []
    return sorted(p for p in data.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())


_cache_lock = threading.Lock()
_index_cache: dict[tuple[str, str], tuple[tuple[Any, ...], TrainingIndex]] = {}


def load_index(project_dir: Path, key: Callable[[str], str] = normalise, key_name: str = "normalise"
               ) -> TrainingIndex:
    """The index of all ``- intent:`` examples under ``project_dir/data`` (cached until a file changes).

    ``key`` turns an example's plain text into the comparison key (the inbox passes mask + normalise)."""
    files = data_files(project_dir)
    signature = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    cache_key = (str(project_dir), key_name)
    with _cache_lock:
        cached = _index_cache.get(cache_key)
        if cached and cached[0] == signature:
            return cached[1]
    index = TrainingIndex()
    for path in files:
        doc = _safe_load(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("nlu"), list):
            continue
        relative = path.relative_to(project_dir).as_posix()
        for entry in doc["nlu"]:
            if isinstance(entry, dict) and isinstance(entry.get("intent"), str):
                for example in _examples_of(entry.get("examples")):
                    text = plain_text(example)
                    index.add(key(text), entry["intent"], relative, text)
    with _cache_lock:
        _index_cache[cache_key] = (signature, index)
    return index


def testset_keys(project_dir: Path) -> set[str]:
    """Comparison keys of the held-out test set (never training data)."""
    path = project_dir / TESTSET
    if not path.is_file():
        return set()
    doc = _safe_load(path)
    keys: set[str] = set()
    for entry in (doc or {}).get("nlu") or []:
        if isinstance(entry, dict):
            keys.update(normalise(plain_text(t)) for t in _examples_of(entry.get("examples")))
    return keys


@dataclass(frozen=True)
class Domain:
    intents: tuple[str, ...]
    entities: frozenset[str]


def load_domain(project_dir: Path) -> Domain:
    """Intents (in the domain's order) and entity names of ``project_dir/domain.yml``."""
    doc = _safe_load(project_dir / "domain.yml")
    if not isinstance(doc, dict):
        raise NluDataError("domain.yml enthält keine Domain.")

    def names(items: Any) -> list[str]:
        result = []
        for item in items or []:
            if isinstance(item, str):
                result.append(item)
            elif isinstance(item, dict):
                result.extend(str(k) for k in item)
        return result

    return Domain(tuple(names(doc.get("intents"))), frozenset(names(doc.get("entities"))))


# --- validation ---------------------------------------------------------------------------------------

def check_intent(intent: str, domain: Domain) -> None:
    if intent == FALLBACK_INTENT:
        raise NluDataError("nlu_fallback ist kein Intent für Trainingsbeispiele. Bitte wählen Sie ein Thema "
                           "oder out_of_scope.")
    if not _INTENT_NAME.fullmatch(intent or "") or intent not in domain.intents:
        raise NluDataError(f"Das Intent „{intent}“ gibt es in domain.yml nicht.")


def check_example(text: str, domain: Domain, test_keys: set[str]) -> None:
    """Raises NluDataError when ``text`` must not become a training example."""
    if not text or not text.strip():
        raise NluDataError("Ein leerer Text kann kein Trainingsbeispiel sein.")
    if len(text) > MAX_EXAMPLE_CHARS:
        raise NluDataError(f"Der Text ist zu lang für ein Trainingsbeispiel (höchstens {MAX_EXAMPLE_CHARS} "
                           "Zeichen).")
    if any(ch in text for ch in "\r\n\t") or any(unicodedata.category(ch) == "Cc" for ch in text):
        raise NluDataError("Der Text enthält Zeilenumbrüche oder Steuerzeichen.")
    for match in ANNOTATION.finditer(text):
        entity = match.group(2)
        if match.group(3) is not None:
            try:
                entity = yaml.safe_load(match.group(3)).get("entity")
            except (yaml.YAMLError, AttributeError):
                entity = None
        if entity not in domain.entities:
            raise NluDataError(f"„{match.group(0)}“ sähe für Rasa wie eine Entität aus, die es nicht gibt. "
                               "Bitte passen Sie den Text in den Trainingsdaten von Hand an.")
    rest = ANNOTATION.sub("", text)
    if "[" in rest and "](" in rest:
        raise NluDataError("Der Text enthält eckige Klammern, die Rasa als Entität lesen würde.")
    if normalise(plain_text(text)) in test_keys:
        raise NluDataError(f"„{plain_text(text)}“ steht im Testdatensatz (tests/nlu/testset.yml). Testbeispiele "
                           "dürfen nicht in die Trainingsdaten, sonst misst der Test nichts mehr.")


def _check_document(doc: Any, path: Path, intent: str | None = None, expected: Iterable[str] = ()) -> None:
    """Rasa 3 NLU structure of a file about to be written; the new examples must be in it."""
    if not isinstance(doc, dict) or not isinstance(doc.get("nlu"), list):
        raise NluDataError(f"{path.name}: die Datei hätte keine gültige Liste „nlu:“.")
    found: list[str] = []
    for entry in doc["nlu"]:
        if not isinstance(entry, dict):
            raise NluDataError(f"{path.name}: ein Eintrag unter „nlu:“ ist keine Zuordnung.")
        if "intent" in entry:
            examples = entry.get("examples")
            if not isinstance(entry["intent"], str) or not isinstance(examples, str):
                raise NluDataError(f"{path.name}: Intent „{entry.get('intent')}“ hat keine Beispielliste.")
            for line in examples.splitlines():
                if line.strip() and not line.lstrip().startswith("- "):
                    raise NluDataError(f"{path.name}: die Zeile „{line.strip()}“ ist kein Beispiel „- …“.")
            if entry["intent"] == intent:
                found.extend(_examples_of(examples))
    missing = [text for text in expected if text not in found]
    if missing:
        raise NluDataError(f"{path.name}: nach dem Schreiben fehlten Beispiele: {missing}")


# --- writer -------------------------------------------------------------------------------------------

_write_lock = threading.Lock()


def _yaml() -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def operator_file(project_dir: Path, intent: str) -> Path:
    return project_dir / OPERATOR_DIR / f"{intent}.yml"


def _new_document(intent: str) -> CommentedMap:
    doc = CommentedMap()
    doc["version"] = "3.1"
    doc["nlu"] = CommentedSeq()
    doc.yaml_set_start_comment(HEADER)
    return doc


def _intent_entry(doc: CommentedMap, intent: str) -> CommentedMap:
    for entry in doc["nlu"]:
        if isinstance(entry, dict) and entry.get("intent") == intent:
            return entry
    entry = CommentedMap()
    entry["intent"] = intent
    entry["examples"] = LiteralScalarString("")
    doc["nlu"].append(entry)
    return entry


def _render(rt: YAML, doc: Any) -> str:
    buffer = io.StringIO()
    rt.dump(doc, buffer)
    return buffer.getvalue()


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path`` and move it over ``path`` (all or nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o777)
        else:
            os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _edit(path: Path, intent: str, change: Callable[[list[str]], list[str]], expected: Iterable[str]) -> None:
    """Load ``path`` round-trip (or start a new file), let ``change`` edit the example lines of ``intent``,
    validate the result by parsing it again and replace the file atomically."""
    rt = _yaml()
    if path.exists():
        try:
            doc = rt.load(path.read_text(encoding="utf-8"))
        except Exception as exc:  # noqa: BLE001 - ruamel raises many types; the operator needs the file name
            raise NluDataError(f"{path.name} ist kein gültiges YAML und wird nicht verändert: {exc}") from exc
        if not isinstance(doc, CommentedMap) or not isinstance(doc.get("nlu"), list):
            raise NluDataError(f"{path.name} ist keine Rasa-NLU-Datei (es fehlt „nlu:“); sie wird nicht verändert.")
    else:
        doc = _new_document(intent)
    entry = _intent_entry(doc, intent)
    old = entry.get("examples")
    if not isinstance(old, str):
        raise NluDataError(f"{path.name}: Intent „{intent}“ hat keine Beispielliste „examples: |“.")
    lines = [line for line in old.splitlines() if line.strip()]
    new_lines = change(lines)
    entry["examples"] = LiteralScalarString("".join(f"{line}\n" for line in new_lines))
    text = _render(rt, doc)
    try:
        check = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NluDataError(f"{path.name}: das Ergebnis wäre kein gültiges YAML ({exc}); nichts geschrieben.") from exc
    _check_document(check, path, intent, expected)
    atomic_write(path, text)


@dataclass(frozen=True)
class WriteResult:
    file: str
    added: tuple[str, ...]
    already_there: tuple[str, ...]


def add_examples(project_dir: Path, intent: str, texts: Iterable[str], domain: Domain | None = None,
                 test_keys: set[str] | None = None) -> WriteResult:
    """Append ``texts`` as examples of ``intent`` to ``data/nlu/operator/<intent>.yml``.

    Everything is checked first; any refused text raises NluDataError (or ExampleConflict when the text is an
    example of another intent) and nothing is written. Texts already there for this intent are skipped.
    """
    domain = domain or load_domain(project_dir)
    test_keys = testset_keys(project_dir) if test_keys is None else test_keys
    check_intent(intent, domain)
    texts = [" ".join(t.split()) for t in texts]
    for text in texts:
        check_example(text, domain, test_keys)
    path = operator_file(project_dir, intent)
    relative = path.relative_to(project_dir).as_posix()
    with _write_lock:
        index = load_index(project_dir)
        new: list[str] = []
        present: list[str] = []
        seen: set[str] = set()
        for text in texts:
            key = normalise(plain_text(text))
            others = {name: files for name, files in index.intents(key).items() if name != intent}
            if others:
                other, files = next(iter(others.items()))
                raise ExampleConflict(f"„{plain_text(text)}“ ist schon ein Beispiel für {other} ({files[0]}).",
                                      other, files[0])
            if intent in index.intents(key) or key in seen:
                present.append(text)
            else:
                seen.add(key)
                new.append(text)
        if new:
            _edit(path, intent, lambda lines: [*lines, *(f"- {t}" for t in new)], new)
    return WriteResult(relative, tuple(new), tuple(present))


def remove_example(project_dir: Path, intent: str, text: str) -> str | None:
    """Remove ``text`` (compared normalised) from the operator console's file of ``intent``; returns the file
    (relative) when it was there. Hand-written training files are never changed."""
    path = operator_file(project_dir, intent)
    if not path.exists():
        return None
    key = normalise(plain_text(text))
    removed: list[str] = []

    def drop(lines: list[str]) -> list[str]:
        kept = []
        for line in lines:
            body = line.strip()[2:] if line.strip().startswith("- ") else line
            if normalise(plain_text(body)) == key:
                removed.append(line)
            else:
                kept.append(line)
        return kept

    with _write_lock:
        _edit(path, intent, drop, ())
    return path.relative_to(project_dir).as_posix() if removed else None
