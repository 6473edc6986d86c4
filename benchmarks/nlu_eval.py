"""Evaluate a trained Krisenlotse model on the held-out NLU test set (run in the Rasa environment).

    .venv-rasa/bin/python benchmarks/nlu_eval.py --model models/krisenlotse.tar.gz --out var/results/nlu

Prints accuracy, macro-F1, a per-intent table, the misclassified messages and writes
``confusion_matrix.png`` and ``metrics.json`` into --out. The test set (tests/nlu/testset.yml) was written
separately from the training data and is never trained on.

Two figures are reported: the classifier's own top intent ("classification", what the quality gate
checks) and the intent after the FallbackClassifier ("with fallback": messages below the confidence
threshold become nlu_fallback, i.e. the bot asks back instead of guessing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

ROOT = Path(__file__).resolve().parent.parent
FALLBACK = "nlu_fallback"


@dataclass
class Prediction:
    text: str
    expected: str
    predicted: str  # classifier's top intent (nlu_fallback skipped)
    with_fallback: str  # what the bot acts on
    confidence: float


@dataclass
class Report:
    model: str
    n: int
    accuracy: float
    macro_f1: float
    accuracy_with_fallback: float
    fallback_rate: float
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    predictions: list[Prediction] = field(default_factory=list, repr=False)
    routed_right: float | None = None  # topical messages whose predicted intent leads to the expected office

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "predictions"}


def load_testset(path: Path) -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(ex.get("text"), ex.get("intent")) for ex in data.intent_examples]


def quiet_rasa() -> None:
    """Rasa logs every parse at debug level unless structlog is configured."""
    import logging

    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.WARNING)


_AGENTS: dict[str, object] = {}


def load_agent(model: Path):  # noqa: ANN201 - rasa.core.agent.Agent, imported lazily
    """The model loaded once per process (two sets are evaluated with one load)."""
    from rasa.core.agent import Agent

    quiet_rasa()
    key = str(model.resolve())
    if key not in _AGENTS:
        _AGENTS[key] = Agent.load(str(model))
    return _AGENTS[key]


async def predict(model: Path, examples: list[tuple[str, str]]) -> list[Prediction]:
    agent = load_agent(model)
    out = []
    for text, expected in examples:
        parsed = await agent.parse_message(text)
        ranking = [r for r in parsed.get("intent_ranking", []) if r["name"] != FALLBACK]
        top = ranking[0] if ranking else {"name": FALLBACK, "confidence": 0.0}
        out.append(Prediction(text, expected, top["name"], parsed["intent"]["name"], float(top["confidence"])))
    return out


def score(preds: list[Prediction], model_name: str, seconds: float = 0.0) -> Report:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    y_true = [p.expected for p in preds]
    y_pred = [p.predicted for p in preds]
    labels = sorted(set(y_true))
    prec, rec, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_intent = {
        lab: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for lab, p, r, f, s in zip(labels, prec, rec, f1, support, strict=True)
    }
    return Report(
        model=model_name,
        n=len(preds),
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        accuracy_with_fallback=sum(p.with_fallback == p.expected for p in preds) / max(len(preds), 1),
        fallback_rate=sum(p.with_fallback == FALLBACK for p in preds) / max(len(preds), 1),
        per_intent=per_intent,
        errors=[p.__dict__ for p in preds if p.predicted != p.expected],
        seconds=seconds,
        predictions=preds,
        routed_right=routed_share(preds),
    )


def routed_share(preds: list[Prediction]) -> float | None:
    """Share of topical messages for which the bot's intent (after the fallback) routes to the office the
    expected intent routes to (data/routing.yml without company details): a wrong sub-topic of Kurzarbeit
    still reaches the Agentur für Arbeit; a fallback reaches nobody."""
    sys.path.insert(0, str(ROOT))
    from actions.intents import is_topical
    from actions.routing import load_routing

    table = load_routing()
    topical = [p for p in preds if is_topical(p.expected)]
    if not topical:
        return None
    right = sum(
        is_topical(p.with_fallback) and table.route(p.with_fallback, {}).primary == table.route(p.expected, {}).primary
        for p in topical
    )
    return right / len(topical)


def confusion_png(preds: list[Prediction], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted({p.expected for p in preds} | {p.predicted for p in preds})
    matrix = confusion_matrix([p.expected for p in preds], [p.predicted for p in preds], labels=labels)
    fig, ax = plt.subplots(figsize=(13, 11))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xlabel("vorhergesagt")
    ax.set_ylabel("erwartet")
    ax.set_title("Krisenlotse – Konfusionsmatrix (Testset)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate(model: Path, testset: Path = ROOT / "tests" / "nlu" / "testset.yml",
             out: Path | None = None) -> Report:
    examples = load_testset(testset)
    start = time.perf_counter()
    preds = asyncio.run(predict(model, examples))
    report = score(preds, model.name, time.perf_counter() - start)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        confusion_png(preds, out / "confusion_matrix.png")
        (out / "metrics.json").write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    return report


def print_report(report: Report) -> None:
    print(f"Model {report.model}: {report.n} test messages, {report.seconds:.1f} s")
    print(f"  accuracy            {report.accuracy:.3f}")
    print(f"  macro-F1            {report.macro_f1:.3f}")
    print(f"  with fallback: accuracy {report.accuracy_with_fallback:.3f}, fallback rate {report.fallback_rate:.3f}")
    if report.routed_right is not None:
        print(f"  topical messages routed to the right office: {report.routed_right:.3f}")
    print(f"\n  {'intent':32} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>4}")
    for name, m in sorted(report.per_intent.items(), key=lambda kv: kv[1]["f1"]):
        print(f"  {name:32} {m['precision']:6.2f} {m['recall']:6.2f} {m['f1']:6.2f} {m['support']:4d}")
    if report.errors:
        print("\n  misclassified:")
        for e in report.errors:
            print(f"    [{e['expected']} → {e['predicted']} {e['confidence']:.2f}] {e['text']}")


def threshold_table(preds: list[Prediction], thresholds: list[float]) -> list[tuple[float, float, float, float]]:
    """(threshold, right answers, wrong answers, ask-backs) as shares of all messages: below the threshold the
    bot asks back (FallbackClassifier), at or above it answers the top intent."""
    n = max(len(preds), 1)
    rows = []
    for t in thresholds:
        answered = [p for p in preds if p.confidence >= t]
        right = sum(p.predicted == p.expected for p in answered)
        rows.append((t, right / n, (len(answered) - right) / n, (len(preds) - len(answered)) / n))
    return rows


def print_thresholds(name: str, preds: list[Prediction]) -> None:
    print(f"\n  fallback threshold on {name}: share of messages answered right / answered wrong / asked back")
    for t, right, wrong, ask in threshold_table(preds, [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7]):
        print(f"    {t:4.2f}   right {right:5.3f}   wrong {wrong:5.3f}   ask back {ask:5.3f}")


def print_side_by_side(reports: dict[str, Report]) -> None:
    names = list(reports)
    print("\n" + " " * 34 + "".join(f"{name:>14}" for name in names))
    rows = [("messages", lambda r: f"{r.n}"), ("accuracy", lambda r: f"{r.accuracy:.3f}"),
            ("macro-F1", lambda r: f"{r.macro_f1:.3f}"), ("fallback rate", lambda r: f"{r.fallback_rate:.3f}"),
            ("routed to the right office", lambda r: "–" if r.routed_right is None else f"{r.routed_right:.3f}")]
    for label, value in rows:
        print(f"  {label:32}" + "".join(f"{value(reports[n]):>14}" for n in names))
    intents = sorted({i for r in reports.values() for i in r.per_intent})
    print(f"\n  {'F1 per intent':32}" + "".join(f"{n:>14}" for n in names))
    for intent in intents:
        cells = "".join(
            f"{reports[n].per_intent[intent]['f1']:>14.2f}" if intent in reports[n].per_intent else f"{'–':>14}"
            for n in names
        )
        print(f"  {intent:32}{cells}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate the NLU model on the held-out test set and the "
                                                 "real-question development set, side by side")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "krisenlotse.tar.gz")
    parser.add_argument("--testset", type=Path, default=ROOT / "tests" / "nlu" / "testset.yml")
    parser.add_argument("--realworld", type=Path, default=ROOT / "tests" / "nlu" / "realworld.yml",
                        help="real-question set (adapted from public questions); 'none' to skip")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "results" / "nlu")
    args = parser.parse_args(argv)
    sets = {"testset": args.testset}
    if str(args.realworld) != "none" and args.realworld.exists():
        sets["realworld"] = args.realworld
    reports = {}
    for name, path in sets.items():
        out = args.out if name == "testset" else args.out / name
        reports[name] = evaluate(args.model, path, out)
        print(f"\n=== {name} ({path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}) ===")
        print_report(reports[name])
        print_thresholds(name, reports[name].predictions)
        print(f"\n  confusion matrix: {out / 'confusion_matrix.png'}")
    if len(reports) > 1:
        print_side_by_side(reports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
