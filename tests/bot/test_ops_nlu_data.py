"""The training-data side of the NLU inbox (bot/ops/nlu_data.py), on a copy of data/ and domain.yml in
tmp_path: the index, the held-out test set guard, and the ruamel.yaml writer (round trip keeps comments and
order; invalid data is refused; a failed write leaves the old file intact)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from bot.ops import nlu_data
from bot.ops.nlu_data import ExampleConflict, NluDataError, add_examples, load_index, normalise, plain_text

ROOT = Path(__file__).resolve().parents[2]

HAND_WRITTEN = """\
# Von Hand gepflegt: bitte diese Zeile behalten
version: "3.1"
nlu:
  # Grüße aus der Region
  - intent: greet   # Kommentar an der Zeile
    examples: |
      - moin moin
      - servus zusammen
  # Dank kommt nach den Grüßen
  - intent: thank
    examples: |
      - merci vielmals
# Ende der Datei
"""


def copy_project(target: Path) -> Path:
    """A copy of the Rasa project's data/, domain.yml and the held-out test set (never the real files)."""
    shutil.copytree(ROOT / "data", target / "data")
    shutil.copy(ROOT / "domain.yml", target / "domain.yml")
    (target / "tests" / "nlu").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "nlu" / "testset.yml", target / "tests" / "nlu" / "testset.yml")
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def operator_file(project: Path, intent: str) -> Path:
    return project / "data" / "nlu" / "operator" / f"{intent}.yml"


def examples(path: Path, intent: str) -> list[str]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in doc["nlu"]:
        if entry.get("intent") == intent:
            return [line[2:] for line in entry["examples"].splitlines() if line.startswith("- ")]
    return []


def test_normalise_and_plain_text() -> None:
    assert normalise("  Kurzarbeit??  ") == normalise("kurzarbeit") == "kurzarbeit"
    assert normalise("„Soforthilfe“   beantragen!") == normalise('"soforthilfe" beantragen') == 'soforthilfe" beantragen'
    assert normalise("Wie  beantrage\tich   KURZARBEIT?") == "wie beantrage ich kurzarbeit"
    assert normalise("Straße") == normalise("STRASSE")  # case folding
    assert plain_text('Wir sind in [Neckarau](district) eine [Bäckerei]{"entity": "industry", "value": "handwerk"}') \
        == "Wir sind in Neckarau eine Bäckerei"


def test_index_reads_every_intent_example_under_data(project: Path) -> None:
    index = load_index(project)
    assert index.intents(normalise("termin buchen")) == {"appointment_booking": ["data/nlu/digital_services.yml"]}
    # synonyms, lookups and regexes are not intent examples
    assert all(intents for intents in index.entries.values())
    assert not index.conflicts()


def test_new_file_is_created_valid_and_marked(project: Path) -> None:
    result = add_examples(project, "tax_relief", ["kann die stadt meine hundesteuer für den wachhund stunden"])
    path = operator_file(project, "tax_relief")
    assert result.file == "data/nlu/operator/tax_relief.yml"
    assert result.added == ("kann die stadt meine hundesteuer für den wachhund stunden",)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Trainingsbeispiele aus dem NLU-Posteingang der Betriebskonsole")
    assert examples(path, "tax_relief") == ["kann die stadt meine hundesteuer für den wachhund stunden"]
    assert yaml.safe_load(text)["version"] == "3.1"
    # the index sees it at once (the inbox hides it)
    assert "tax_relief" in load_index(project).intents("kann die stadt meine hundesteuer für den wachhund stunden")


def test_round_trip_keeps_comments_order_and_other_intents(project: Path) -> None:
    path = operator_file(project, "greet")
    path.parent.mkdir(parents=True)
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    result = add_examples(project, "greet", ["grüß gott miteinander", "Moin Moin!"])
    assert result.added == ("grüß gott miteinander",)
    assert result.already_there == ("Moin Moin!",)  # normalised duplicate: not written twice
    written = path.read_text(encoding="utf-8")
    expected = HAND_WRITTEN.replace("      - servus zusammen\n",
                                    "      - servus zusammen\n      - grüß gott miteinander\n")
    assert written == expected  # every comment, the order and the quoting stay exactly as they were


def test_annotated_masks_are_written_as_entities(project: Path) -> None:
    add_examples(project, "inform", ["meine nummer ist [0621 123456](phone)"])
    assert examples(operator_file(project, "inform"), "inform") == ["meine nummer ist [0621 123456](phone)"]


@pytest.mark.parametrize(("intent", "text", "message"), [
    ("no_such_intent", "hallo", "gibt es in domain.yml nicht"),
    ("nlu_fallback", "hallo", "nlu_fallback ist kein Intent"),
    ("greet", "   ", "leerer Text"),
    ("greet", "x" * 501, "zu lang"),
    ("greet", "hallo\x07 glocke", "Steuerzeichen"),
    ("greet", "hallo [Herr Maier](kunde)", "Entität aus, die es nicht gibt"),
    ("greet", 'hallo [Maier]{"entity": "kunde"}', "Entität aus, die es nicht gibt"),
    ("greet", "- eine zeile: mit doppelpunkt [und](klammern", "Klammern"),
])
def test_invalid_examples_are_refused_and_nothing_is_written(project: Path, intent: str, text: str,
                                                             message: str) -> None:
    with pytest.raises(NluDataError, match=message):
        add_examples(project, intent, ["ein gültiger satz zuerst", text])
    assert not (project / "data" / "nlu" / "operator").exists()


def test_texts_of_the_held_out_test_set_are_refused(project: Path) -> None:
    doc = yaml.safe_load((project / "tests" / "nlu" / "testset.yml").read_text(encoding="utf-8"))
    entry = doc["nlu"][0]
    first = entry["examples"].splitlines()[0][2:]
    variant = "  " + plain_text(first).upper() + " "  # normalised comparison: case and spaces do not help
    with pytest.raises(NluDataError, match="Testdatensatz"):
        add_examples(project, entry["intent"], [variant])
    assert not operator_file(project, entry["intent"]).exists()


def test_text_of_another_intent_is_a_conflict(project: Path) -> None:
    with pytest.raises(ExampleConflict) as caught:
        add_examples(project, "online_services", ["Termin buchen"])
    assert caught.value.intent == "appointment_booking"
    assert caught.value.file == "data/nlu/digital_services.yml"
    assert "schon ein Beispiel für appointment_booking" in str(caught.value)


def test_broken_file_is_not_touched(project: Path) -> None:
    path = operator_file(project, "greet")
    path.parent.mkdir(parents=True)
    broken = "version: '3.1'\nnlu:\n  - intent: greet\n    examples: |\n      - moin\n   bad: [indent\n"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(NluDataError):
        add_examples(project, "greet", ["grüß euch beisammen vom amt"])
    assert path.read_text(encoding="utf-8") == broken
    not_nlu = "version: '3.1'\nrules: []\n"
    path.write_text(not_nlu, encoding="utf-8")
    with pytest.raises(NluDataError, match="keine Rasa-NLU-Datei"):
        add_examples(project, "greet", ["grüß euch beisammen vom amt"])
    assert path.read_text(encoding="utf-8") == not_nlu


def test_failed_write_leaves_the_old_file_intact(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_examples(project, "greet", ["grüß gott miteinander"])
    path = operator_file(project, "greet")
    before = path.read_bytes()

    def disk_full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(nlu_data.os, "replace", disk_full)
    with pytest.raises(OSError):
        add_examples(project, "greet", ["grüß euch beisammen vom amt"])
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == ["greet.yml"]  # no temporary file left behind


def test_a_result_that_would_not_validate_is_not_written(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_examples(project, "greet", ["grüß gott miteinander"])
    path = operator_file(project, "greet")
    before = path.read_bytes()
    monkeypatch.setattr(nlu_data, "_render", lambda rt, doc: "version: '3.1'\nnlu: [broken\n")
    with pytest.raises(NluDataError, match="kein gültiges YAML"):
        add_examples(project, "greet", ["grüß euch beisammen vom amt"])
    assert path.read_bytes() == before


def test_remove_example_only_from_the_operator_file(project: Path) -> None:
    add_examples(project, "greet", ["grüß gott miteinander", "grüß euch beisammen vom amt"])
    assert nlu_data.remove_example(project, "greet", "Grüß Gott miteinander!") == "data/nlu/operator/greet.yml"
    assert examples(operator_file(project, "greet"), "greet") == ["grüß euch beisammen vom amt"]
    assert nlu_data.remove_example(project, "appointment_booking", "termin buchen") is None
    assert "appointment_booking" in load_index(project).intents("termin buchen")


def test_conflicting_training_data_is_reported(project: Path) -> None:
    path = operator_file(project, "online_services")
    path.parent.mkdir(parents=True)
    path.write_text('version: "3.1"\nnlu:\n  - intent: online_services\n    examples: |\n      - termin buchen\n',
                    encoding="utf-8")
    conflicts = load_index(project).conflicts()
    assert [(key, intents) for key, _, intents in conflicts] == [
        ("termin buchen", {"appointment_booking": ["data/nlu/digital_services.yml"],
                           "online_services": ["data/nlu/operator/online_services.yml"]})]


RASA_READER = """
import json, sys
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
data = RasaYAMLReader().read(sys.argv[1])
print(json.dumps([[m.get("intent"), m.get("text"), [e["entity"] for e in m.get("entities") or []]]
                  for m in data.intent_examples]))
"""


@pytest.mark.slow
def test_rasa_reads_what_the_writer_wrote(project: Path) -> None:
    """Rasa's own YAML reader (in .venv-rasa) accepts the file, with the annotated masks as entities."""
    import json
    import subprocess

    from tests.support.stack import skip_or_fail
    from tools.stack import RASA_VENV

    python = RASA_VENV / "bin" / "python"
    if not python.exists():
        skip_or_fail(f"{python} not found (make install)")
    add_examples(project, "inform", ["ich bin [Anna Schmidt](person_name), [0621 123456](phone)",
                                     "wir sind die [Muster GmbH](company_name) in Neckarau"])
    done = subprocess.run([str(python), "-c", RASA_READER, str(operator_file(project, "inform"))],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [
        ["inform", "ich bin Anna Schmidt, 0621 123456", ["person_name", "phone"]],
        ["inform", "wir sind die Muster GmbH in Neckarau", ["company_name"]]]
