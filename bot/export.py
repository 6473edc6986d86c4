"""Export of a case with its transcript: plain text and PDF (fpdf2; DejaVu Sans for umlauts when the
system has it, otherwise the PDF core font with Latin-1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cases import PRIORITY_LABELS, STATUS_LABELS
from bot.models import Case, CaseEvent
from bot.store import as_utc

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)
SENDERS = {"user": "Unternehmen", "bot": "Krisenlotse", "staff": "Stadt"}


def _time(moment: Any) -> str:
    if moment is None:
        return "–"
    if isinstance(moment, str):
        return moment
    return as_utc(moment).strftime("%d.%m.%Y %H:%M UTC")


@dataclass
class CaseDocument:
    case: Case
    transcript: Sequence[Mapping[str, Any]]
    events: Sequence[CaseEvent]
    unit_names: Mapping[str, str]
    with_contact: bool

    def lines(self) -> list[str]:
        case = self.case
        out = [
            f"Krisenlotse – Fall {case.case_number}",
            "",
            f"Stelle: {self.unit_names.get(case.unit, case.unit)}",
            f"Status: {STATUS_LABELS.get(case.status, case.status)}",
            f"Priorität: {PRIORITY_LABELS.get(case.priority, case.priority)}",
            f"Thema: {case.topic or '–'}",
            f"Eingegangen: {_time(case.received)}",
            f"Antwort erwartet bis: {case.expected_response_by or '–'}",
        ]
        if case.outcome:
            out.append(f"Ergebnis: {case.outcome}")
        contact = case.contact if isinstance(case.contact, dict) else {}
        if self.with_contact:
            out += ["", "Kontakt:"]
            for key, label in (("name", "Name"), ("company", "Unternehmen"), ("email", "E-Mail"),
                               ("phone", "Telefon"), ("preferred_channel", "Bevorzugt")):
                out.append(f"  {label}: {contact.get(key) or '–'}")
        else:
            out += ["", "Kontakt: (nicht freigegeben)"]
        if case.description:
            out += ["", "Anliegen:", case.description]
        out += ["", "Gesprächsverlauf:"]
        for msg in self.transcript:
            who = msg.get("staff_name") if msg.get("sender") == "staff" else None
            label = f"Stadt ({who})" if who else SENDERS.get(str(msg.get("sender")), str(msg.get("sender")))
            extra = ""
            if msg.get("sender") == "user" and msg.get("intent"):
                extra = f"  [{msg['intent']} {msg.get('confidence') or 0:.2f}]"
            out.append(f"[{msg.get('timestamp')}] {label}: {msg.get('text') or '(ohne Text)'}{extra}")
        out += ["", "Verlauf des Falls:"]
        for event in self.events:
            detail = " ".join(part for part in (
                f"{event.from_unit} → {event.to_unit}" if event.from_unit else "",
                f"Grund: {event.reason}" if event.reason else "", event.detail or "") if part)
            out.append(f"[{_time(event.at)}] {event.kind} – {event.actor} {detail}".rstrip())
        return out

    def text(self) -> str:
        return "\n".join(self.lines()) + "\n"

    def pdf(self) -> bytes:
        from fpdf import FPDF

        pdf = FPDF(format="A4")
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.set_title(f"Fall {self.case.case_number}")
        pdf.add_page()
        font = next((path for path in FONT_CANDIDATES if path.is_file()), None)
        if font is not None:
            pdf.add_font("DejaVu", "", str(font))
            pdf.set_font("DejaVu", size=10)

            def clean(line: str) -> str:
                return "".join(ch if ord(ch) <= 0xFFFF else "?" for ch in line)
        else:
            pdf.set_font("Helvetica", size=10)

            def clean(line: str) -> str:
                return line.replace("–", "-").replace("→", "->").encode("latin-1", "replace").decode("latin-1")
        for line in self.lines():
            pdf.multi_cell(0, 5, clean(line) or " ", new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())
