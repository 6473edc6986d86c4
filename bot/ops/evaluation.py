"""Evaluation of trained models on the held-out test set, and what the console shows of it.

The evaluation itself runs in the Rasa environment (``tools/evaluate_model.py`` as a subprocess: the web app
never imports Rasa). Here: building that command, reading its JSON, the side-by-side comparison with the
active model, and the confusion matrix as an accessible inline SVG drawn by the server.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

ROOT = Path(__file__).resolve().parents[2]
EVALUATE_SCRIPT = ROOT / "tools" / "evaluate_model.py"


def testset_path(project_dir: Path) -> Path:
    return project_dir / "tests" / "nlu" / "testset.yml"


def testset_fingerprint(project_dir: Path) -> str | None:
    path = testset_path(project_dir)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def evaluate_command(python: Path, models: list[Path], testset: Path, out: Path, *, folds: int | None = None,
                     config: Path | None = None, data: Path | None = None, project: Path | None = None) -> list[str]:
    argv = [str(python), str(EVALUATE_SCRIPT), "--testset", str(testset), "--out", str(out)]
    for model in models:
        argv += ["--model", str(model)]
    if folds:
        argv += ["--cross-validation", str(folds)]
        if config:
            argv += ["--config", str(config)]
        if data:
            argv += ["--data", str(data)]
        if project:
            argv += ["--project", str(project)]
    return argv


def read_result(out: Path) -> dict[str, Any]:
    """The JSON tools/evaluate_model.py wrote; each model's result keyed by its file name."""
    result = json.loads(out.read_text(encoding="utf-8"))
    return {"models": {Path(m["path"]).name: m for m in result.get("models", [])},
            "cross_validation": result.get("cross_validation")}


# --- comparison ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IntentRow:
    intent: str
    precision: float | None
    recall: float | None
    f1: float | None
    support: int
    active_f1: float | None

    @property
    def delta(self) -> float | None:
        if self.f1 is None or self.active_f1 is None:
            return None
        return self.f1 - self.active_f1


def intent_rows(metrics: dict[str, Any] | None, active: dict[str, Any] | None) -> list[IntentRow]:
    """One row per intent of either evaluation, the worst F1 of the new model first."""
    mine = (metrics or {}).get("per_intent") or {}
    theirs = (active or {}).get("per_intent") or {}
    rows = []
    for intent in sorted(set(mine) | set(theirs)):
        values = mine.get(intent) or {}
        old = theirs.get(intent)
        rows.append(IntentRow(intent, values.get("precision"), values.get("recall"), values.get("f1"),
                              int(values.get("support") or (old or {}).get("support") or 0),
                              old.get("f1") if old else None))
    return sorted(rows, key=lambda r: (r.f1 if r.f1 is not None else -1.0, r.intent))


def confusion_svg(confusion: dict[str, Any] | None, title_id: str = "konfusion-titel") -> Markup:
    """The confusion matrix as an SVG heat map (rows: expected, columns: predicted). Colours are attributes,
    not inline styles (the CSP forbids those); the same figures are in a table next to it."""
    if not confusion or not confusion.get("labels"):
        return Markup("")
    labels: list[str] = confusion["labels"]
    matrix: list[list[int]] = confusion["matrix"]
    n = len(labels)
    cell, left, top = 18, 230, 230
    width, height = left + n * cell + 10, top + n * cell + 10
    peak = max((max(row) for row in matrix), default=1) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="{title_id}" class="confusion" font-family="sans-serif">',
        f'<title id="{title_id}">Konfusionsmatrix: Zeilen erwarteter Intent, Spalten vorhergesagter Intent; '
        f'die Zahlen stehen auch in der Tabelle darunter.</title>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for i, label in enumerate(labels):
        name = html.escape(label)
        y = top + i * cell + cell * 0.7
        parts.append(f'<text x="{left - 6}" y="{y:.1f}" font-size="11" text-anchor="end" fill="#1a1a1a">{name}</text>')
        x = left + i * cell + cell * 0.7
        parts.append(f'<text x="{x:.1f}" y="{top - 6}" font-size="11" fill="#1a1a1a" '
                     f'transform="rotate(-60 {x:.1f} {top - 6})">{name}</text>')
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            x, y = left + j * cell, top + i * cell
            if count:
                share = count / peak
                # diagonal (right) in blue, errors in red; darker = more messages
                base = (11, 92, 171) if i == j else (178, 34, 34)
                colour = "#" + "".join(f"{int(255 - (255 - c) * (0.25 + 0.75 * share)):02x}" for c in base)
                text = "#ffffff" if share > 0.7 else "#1a1a1a"
                parts.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{colour}" '
                             f'stroke="#d0d0d0" stroke-width="0.5"/>')
                parts.append(f'<text x="{x + cell / 2}" y="{y + cell * 0.7:.1f}" font-size="9" '
                             f'text-anchor="middle" fill="{text}">{count}</text>')
            else:
                parts.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="#fafafa" '
                             f'stroke="#e6e6e6" stroke-width="0.5"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label is escaped above, the rest are numbers


def confusion_errors(confusion: dict[str, Any] | None) -> list[tuple[str, str, int]]:
    """The off-diagonal cells (expected, predicted, count), most frequent first (the accessible table)."""
    if not confusion:
        return []
    labels, matrix = confusion["labels"], confusion["matrix"]
    cells = [(labels[i], labels[j], count) for i, row in enumerate(matrix) for j, count in enumerate(row)
             if i != j and count]
    return sorted(cells, key=lambda c: (-c[2], c[0], c[1]))
