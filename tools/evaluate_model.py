"""Evaluate trained Rasa models on the held-out NLU test set and print/write the figures as JSON
(run in the Rasa environment; the web app's operator console calls it as a subprocess).

    .venv-rasa/bin/python tools/evaluate_model.py --model models/a.tar.gz [--model models/b.tar.gz] \
        [--testset tests/nlu/testset.yml] [--out result.json] \
        [--cross-validation 5 --config config.yml --data data/nlu]

For each model: accuracy, macro-F1, per-intent precision/recall/F1/support, the misclassified messages and
the confusion matrix (labels + counts), plus the SHA-256 of the test set so that two evaluations can be
compared only when they used the same set. Several models are evaluated in one process (TensorFlow is
imported once). The scoring itself is benchmarks/nlu_eval.py's (the figure `make bench` prints).
``--cross-validation k`` adds k-fold cross-validation of the training data (``rasa test nlu
--cross-validation``; trains k models: slow).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from benchmarks.nlu_eval import Prediction, load_testset, predict, score  # noqa: E402


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def confusion(preds: list[Prediction]) -> dict[str, Any]:
    """Rows: expected intent; columns: predicted intent (labels sorted; counts)."""
    labels = sorted({p.expected for p in preds} | {p.predicted for p in preds})
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for p in preds:
        matrix[index[p.expected]][index[p.predicted]] += 1
    return {"labels": labels, "matrix": matrix}


def evaluate_models(models: list[Path], testset: Path) -> list[dict[str, Any]]:
    examples = load_testset(testset)
    fingerprint = file_sha256(testset)
    results = []
    for model in models:
        start = time.perf_counter()
        preds = asyncio.run(predict(model, examples))
        report = score(preds, model.name, time.perf_counter() - start).to_json()
        report["confusion"] = confusion(preds)
        report["testset_fingerprint"] = fingerprint
        report["path"] = str(model)
        results.append(report)
    return results


def cross_validate(folds: int, config: Path, data: Path, cwd: Path) -> dict[str, Any]:
    """k-fold cross-validation with ``rasa test nlu --cross-validation``; figures of the test folds."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="krisenlotse-cv-") as out:
        done = subprocess.run(
            [sys.executable, "-m", "rasa", "test", "nlu", "--cross-validation", "--folds", str(folds),
             "--config", str(config), "--nlu", str(data), "--out", out, "--no-plot"],
            cwd=cwd, capture_output=True, text=True, check=False,
        )
        report_file = Path(out) / "intent_report.json"
        if done.returncode != 0 or not report_file.exists():
            tail = "\n".join((done.stderr or done.stdout).splitlines()[-15:])
            raise RuntimeError(f"rasa test nlu --cross-validation failed (code {done.returncode}):\n{tail}")
        report = json.loads(report_file.read_text(encoding="utf-8"))
    per_intent = {
        name: {"precision": float(v["precision"]), "recall": float(v["recall"]), "f1": float(v["f1-score"]),
               "support": int(v["support"])}
        for name, v in report.items()
        if isinstance(v, dict) and "f1-score" in v and name not in {"macro avg", "weighted avg", "micro avg"}
    }
    return {
        "folds": folds,
        "accuracy": float(report.get("accuracy", report.get("micro avg", {}).get("f1-score", 0.0))),
        "macro_f1": float(report["macro avg"]["f1-score"]),
        "per_intent": per_intent,
        "seconds": time.perf_counter() - start,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate Rasa models on the held-out NLU test set (JSON)")
    parser.add_argument("--model", type=Path, action="append", default=[], help="model archive (repeatable)")
    parser.add_argument("--testset", type=Path, default=ROOT / "tests" / "nlu" / "testset.yml")
    parser.add_argument("--out", type=Path, help="write the JSON here (default: standard output)")
    parser.add_argument("--cross-validation", type=int, metavar="K", help="also run K-fold cross-validation")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml", help="config for cross-validation")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "nlu", help="NLU data for cross-validation")
    parser.add_argument("--project", type=Path, default=ROOT, help="working folder (relative paths in config)")
    args = parser.parse_args(argv)
    if not args.model and not args.cross_validation:
        parser.error("give at least one --model or --cross-validation K")
    for model in args.model:
        if not model.is_file():
            parser.error(f"model not found: {model}")
    if not args.testset.is_file():
        parser.error(f"test set not found: {args.testset}")

    result: dict[str, Any] = {"models": evaluate_models(args.model, args.testset) if args.model else []}
    if args.cross_validation:
        if args.cross_validation < 2:
            parser.error("--cross-validation needs at least 2 folds")
        result["cross_validation"] = cross_validate(args.cross_validation, args.config.resolve(),
                                                    args.data.resolve(), args.project)
    text = json.dumps(result, ensure_ascii=False)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
