"""German phrases used by the actions (Sie-form, short)."""

from __future__ import annotations

#: Short German titles per topical intent (buttons of action_clarify, topic names in texts).
TOPIC_TITLES: dict[str, str] = {
    "short_time_work_eligibility": "Kurzarbeit: Voraussetzungen",
    "short_time_work_application": "Kurzarbeit anzeigen und beantragen",
    "short_time_work_allowance": "Höhe des Kurzarbeitergelds",
    "emergency_aid": "Soforthilfen und Zuschüsse",
    "loans_liquidity": "Kredite und Liquidität",
    "tax_relief": "Steuern stunden oder senken",
    "business_operations_rules": "Regeln für den Betrieb",
    "appointment_booking": "Termin bei der Stadt",
    "business_registration": "Gewerbe anmelden",
    "e_invoicing": "E-Rechnung an die Stadt",
    "online_services": "Online-Dienste der Stadt",
    "digitalization_funding": "Förderung der Digitalisierung",
    "startup_support": "Gründung und Start-ups",
    "networks_events": "Netzwerke und Veranstaltungen",
    "data_protection": "Datenschutz",
    "smart_city": "Smart City und offene Daten",
}

#: "… wenden Sie sich <phrase> an …"
TOPIC_PHRASES: dict[str, str] = {
    "short_time_work_eligibility": "bei Fragen zur Kurzarbeit",
    "short_time_work_application": "für die Anzeige der Kurzarbeit",
    "short_time_work_allowance": "bei Fragen zum Kurzarbeitergeld",
    "emergency_aid": "für Soforthilfen",
    "loans_liquidity": "bei Krediten und Liquiditätsfragen",
    "tax_relief": "bei Gewerbe- und Grundsteuer",
    "business_operations_rules": "bei Fragen zu Auflagen für Ihren Betrieb",
    "appointment_booking": "für Termine",
    "business_registration": "für die Gewerbeanmeldung",
    "e_invoicing": "bei Rechnungen an die Stadt",
    "online_services": "bei den Online-Diensten der Stadt",
    "digitalization_funding": "bei Förderungen für die Digitalisierung",
    "startup_support": "für Ihre Gründung",
    "networks_events": "bei Netzwerken und Veranstaltungen",
    "data_protection": "beim Datenschutz",
    "smart_city": "bei Smart-City-Themen",
}

#: "Als <phrase> wenden Sie sich …"
INDUSTRY_PHRASES: dict[str, str] = {
    "handwerk": "Handwerksbetrieb",
    "gastronomie": "Gastronomiebetrieb",
    "einzelhandel": "Einzelhandelsunternehmen",
    "dienstleistung": "Dienstleistungsunternehmen",
    "industrie": "Industrieunternehmen",
    "kultur_veranstaltung": "Kultur- oder Veranstaltungsbetrieb",
    "it_digital": "IT- oder Digitalunternehmen",
    "freie_berufe": "freiberuflich Tätige",
    "hotellerie": "Hotelbetrieb",
    "gesundheit": "Unternehmen im Gesundheitswesen",
    "logistik": "Logistikunternehmen",
}

#: "… wenden Sie sich an <addressee>" (accusative with article); fallback: the unit's name.
UNIT_ADDRESSEES: dict[str, str] = {
    "employment_agency": "die Agentur für Arbeit",
    "business_development": "die Wirtschaftsförderung der Stadt",
    "tax_office": "die Stadtkämmerei (Steueramt)",
    "citizen_services": "den Bürgerservice",
    "trade_office": "das Gewerbeamt",
    "health_office": "das Gesundheitsamt",
    "accounts_payable": "den Rechnungseingang der Stadt",
    "digital_office": "das Digitalbüro der Stadt",
    "data_protection_officer": "die Datenschutzbeauftragte der Stadt",
    "startup_centres": "die Gründungszentren",
    "chamber_of_commerce": "die IHK Rhein-Neckar",
    "chamber_of_crafts": "die Handwerkskammer",
}

#: Topics offered when the bot does not know what the user wants.
STARTER_TOPICS: tuple[str, ...] = ("short_time_work_eligibility", "emergency_aid", "loans_liquidity")

WEEKDAYS_DE: tuple[str, ...] = (
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
)

UNVERIFIED_NOTE = "Kontaktdaten noch nicht bestätigt – bitte auf der Website prüfen."
NEXT_STEP_QUESTION = "Wie kann ich Ihnen weiterhelfen?"
NOTED = "Danke, das habe ich notiert."
ASK_TOPIC = "Danke für Ihre Angaben! Zu welchem Thema haben Sie eine Frage?"
CLARIFY = "Ich bin nicht sicher, ob ich Sie richtig verstanden habe. Meinen Sie {options}?"
GIVE_UP = (
    "Entschuldigung, ich habe Sie leider wieder nicht verstanden. "
    "Bitte wenden Sie sich direkt an {addressee} – dort hilft man Ihnen persönlich weiter."
)
HANDOFF = (
    "Gern verbinde ich Sie mit einer Person: Bitte wenden Sie sich an {addressee} – "
    "dort hilft man Ihnen persönlich weiter."
)


def addressee(unit_id: str, name: str) -> str:
    """Accusative phrase for a unit ("die Handwerkskammer"), falling back to its name."""
    return UNIT_ADDRESSEES.get(unit_id, name)


def join_or(items: list[str]) -> str:
    """'A', 'A oder B', 'A, B oder C'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " oder " + items[-1]
