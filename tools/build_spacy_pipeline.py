"""Build Krisenlotse's German spaCy pipeline (run in the Rasa environment).

No German spaCy model can be downloaded here, so the pipeline is built from ``spacy.blank("de")``:

* a lookup lemmatizer whose table comes from the ``spacy-lookups-data`` package (installed, not downloaded);
* an entity ruler whose patterns come from the project's own data: the industry synonyms in
  ``data/nlu/synonyms.yml`` (label ``industry``) and the Mannheim districts in ``data/nlu/lookups/`` (label
  ``district``).

Rasa's ``SpacyNLP`` component loads the result from the path given in ``config.yml``.

Usage: python tools/build_spacy_pipeline.py [--data data] [--out var/spacy/de_krisenlotse]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import spacy
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

PIPELINE_NAME = "de_krisenlotse"


def _examples(block: str) -> list[str]:
    """The items of a Rasa ``examples: |`` block."""
    items = []
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("- "):
            items.append(line[2:].strip())
    return [item for item in items if item]


def read_phrases(path: Path, kind: str) -> dict[str, list[str]]:
    """Map each synonym value / lookup name in ``path`` to its surface forms.

    ``kind`` is ``"synonym"`` or ``"lookup"``. A malformed file raises ``SystemExit`` naming the file.
    """
    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    except (OSError, YAMLError) as exc:
        raise SystemExit(f"{path}: cannot read YAML: {exc}") from exc
    result: dict[str, list[str]] = {}
    for i, entry in enumerate(doc.get("nlu") or []):
        if not isinstance(entry, dict) or kind not in entry:
            continue
        examples = entry.get("examples")
        if not isinstance(examples, str):
            raise SystemExit(f"{path}: entry {i + 1} ({kind}: {entry.get(kind)}): 'examples' must be a block of '- ' lines")
        result.setdefault(str(entry[kind]), []).extend(_examples(examples))
    return result


def collect_patterns(nlp: spacy.language.Language, data_dir: Path) -> list[dict]:
    """EntityRuler patterns (token-wise, case-insensitive) from the project's data."""
    phrases: list[tuple[str, str, str]] = []  # (label, canonical value, surface form)
    synonyms = data_dir / "nlu" / "synonyms.yml"
    if synonyms.exists():
        for value, forms in read_phrases(synonyms, "synonym").items():
            phrases += [("industry", value, form) for form in forms]
    lookups = data_dir / "nlu" / "lookups"
    districts = lookups / "districts.yml"
    if districts.exists():
        for name in read_phrases(districts, "lookup").get("district", []):
            phrases.append(("district", name, name))
    district_synonyms = lookups / "district_synonyms.yml"
    if district_synonyms.exists():
        for value, forms in read_phrases(district_synonyms, "synonym").items():
            phrases += [("district", value, form) for form in forms]

    patterns, seen = [], set()
    for label, value, form in phrases:
        tokens = [t.lower_ for t in nlp.make_doc(form)]
        key = (label, tuple(tokens))
        if not tokens or key in seen:
            continue
        seen.add(key)
        patterns.append({"label": label, "id": value, "pattern": [{"LOWER": tok} for tok in tokens]})
    return patterns


def build(data_dir: Path, out: Path) -> dict:
    nlp = spacy.blank("de")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": None, "overwrite_ents": True})
    nlp.initialize()  # loads the lookup tables from spacy-lookups-data
    patterns = collect_patterns(nlp, data_dir)
    if patterns:
        ruler.add_patterns(patterns)
    nlp.meta["name"] = PIPELINE_NAME.removeprefix("de_")
    nlp.meta["description"] = "Krisenlotse: blank German pipeline + lookup lemmatizer + entity ruler (districts, industries)"
    out.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out)
    fingerprint = hashlib.sha256(json.dumps(patterns, sort_keys=True).encode()).hexdigest()[:16]
    info = {"path": str(out), "patterns": len(patterns), "fingerprint": fingerprint}
    (out / "krisenlotse.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=Path("var/spacy") / PIPELINE_NAME)
    args = parser.parse_args(argv)
    info = build(args.data, args.out)
    print(f"spaCy pipeline written to {info['path']} ({info['patterns']} entity patterns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
