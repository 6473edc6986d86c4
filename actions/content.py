"""How well the content is sourced: the table `make validate` prints, its warnings and its errors.

Plain functions over the loaded directory, routing and answers (no Rasa), so the web app's content tools can
reuse them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from actions.answers import Answer
from actions.directory import Directory
from actions.routing import RoutingTable
from actions.schemas import SOURCED_UNIT_FIELDS


@dataclass
class UnitRow:
    unit_id: str
    present: tuple[str, ...]
    sourced: tuple[str, ...]
    oldest: date | None
    reachable: bool
    handles_cases: bool


@dataclass
class AnswerRow:
    intent: str
    sources: int
    checked: date
    review_by: date


@dataclass
class ContentReport:
    units: list[UnitRow] = field(default_factory=list)
    answers: list[AnswerRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def reachable_units(self) -> int:
        return sum(row.reachable for row in self.units)

    def render(self) -> str:
        lines = [
            f"Contact directory: {len(self.units)} units, {self.reachable_units} reachable by phone or e-mail "
            "from a cited page",
            f"  {'unit':26} {'present':>7} {'sourced':>7}  {'oldest source':13}  {'reach':5}  cases  missing",
        ]
        for row in self.units:
            missing = [f for f in ("phone", "email", "address", "opening_hours") if f not in row.present]
            lines.append(
                f"  {row.unit_id:26} {len(row.present):>7} {len(row.sourced):>7}  "
                f"{row.oldest.isoformat() if row.oldest else '–':13}  {'yes' if row.reachable else 'no':5}  "
                f"{'yes' if row.handles_cases else 'no':5}  {', '.join(missing) or '–'}"
            )
        lines.append(f"Answers: {len(self.answers)}")
        lines.append(f"  {'intent':28} {'sources':>7}  {'checked':10}  review_by")
        for row in self.answers:
            lines.append(
                f"  {row.intent:28} {row.sources:>7}  {row.checked.isoformat():10}  {row.review_by.isoformat()}"
            )
        lines += [f"WARNING: {warning}" for warning in self.warnings]
        return "\n".join(lines)


def content_report(
    directory: Directory,
    routing: RoutingTable,
    answers: Mapping[str, Answer],
    *,
    today: date,
    max_age_days: int,
) -> ContentReport:
    """The table, warnings (stale sources, old pages, review dates passed) and errors of the content."""
    report = ContentReport()
    stale_before = today - timedelta(days=max_age_days)
    for unit in directory.units.values():
        present = unit.present_fields()
        sourced = tuple(f for f in present if f in unit.sources)
        report.units.append(
            UnitRow(unit.id, present, sourced, unit.checked_on(), unit.reachable, unit.handles_cases)
        )
        for name, source in unit.sources.items():
            if source.retrieved < stale_before:
                report.warnings.append(
                    f"contacts.yml {unit.id}.{name}: source read on {source.retrieved} (older than "
                    f"{max_age_days} days) — check {source.url}"
                )
            if source.is_old(today):
                report.warnings.append(
                    f"contacts.yml {unit.id}.{name}: the page dates from {source.as_of} (older than 3 years; "
                    "shown to users with a hint to check it)"
                )
        unsourced = [f for f in present if f not in unit.sources and f in SOURCED_UNIT_FIELDS]
        if unsourced:  # the loader refuses these already; kept as a second line of defence
            report.errors.append(f"contacts.yml {unit.id}: values without a source: {', '.join(unsourced)}")
    coordinator = directory.units.get(routing.default_unit)
    if coordinator is None or not coordinator.handles_cases:
        report.errors.append(
            f"routing.yml default_unit '{routing.default_unit}' must work cases in the staff console "
            "(handles_cases: true): it receives and forwards the cases of outside bodies"
        )
    for intent, answer in answers.items():
        report.answers.append(AnswerRow(intent, len(answer.sources), answer.checked, answer.review_by))
        if answer.overdue(today):
            report.warnings.append(f"answers.yml {intent}: review_by {answer.review_by} has passed — re-check it")
        sources = list(answer.sources) + [src for var in answer.variants.values() for src in var.sources]
        for source in sources:
            if source.retrieved < stale_before:
                report.warnings.append(
                    f"answers.yml {intent}: source read on {source.retrieved} (older than {max_age_days} days) "
                    f"— {source.url}"
                )
    return report
