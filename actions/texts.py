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
    "insolvency_restructuring": "Insolvenz und Sanierung",
    "cyber_incident": "Cyberangriff und IT-Notfall",
    "energy_costs": "Energiekosten",
    "document_management": "Digitale Dokumente und E-Akte",
}

#: "… wenden Sie sich <phrase> an …"
TOPIC_PHRASES: dict[str, str] = {
    "short_time_work_eligibility": "bei Fragen zur Kurzarbeit",
    "short_time_work_application": "für die Anzeige der Kurzarbeit",
    "short_time_work_allowance": "bei Fragen zum Kurzarbeitergeld",
    "emergency_aid": "für Soforthilfen",
    "loans_liquidity": "bei Krediten und Liquiditätsfragen",
    "tax_relief": "bei Steuerfragen",
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
    "insolvency_restructuring": "bei drohender Insolvenz",
    "cyber_incident": "nach einem Cyberangriff",
    "energy_costs": "bei Fragen zu Energiekosten",
    "document_management": "bei digitalen Dokumenten",
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
    "tax_office": "die Steuerverwaltung der Stadt (Fachbereich Finanzen)",
    "state_tax_office": "das Finanzamt",
    "citizen_services": "die Bürgerdienste der Stadt",
    "trade_office": "die Gewerbestelle der Stadt (Fachbereich Sicherheit und Ordnung)",
    "health_office": "das Gesundheitsamt der Stadt",
    "accounts_payable": "den Zentralen Rechnungseingang der Stadt",
    "digital_office": "den Fachbereich Informationstechnologie der Stadt",
    "data_protection_officer": "den Datenschutzbeauftragten der Stadt",
    "startup_centres": "die Mannheimer Gründungszentren (NEXT MANNHEIM)",
    "chamber_of_commerce": "die IHK Rhein-Neckar",
    "chamber_of_crafts": "die Handwerkskammer",
    "police_cybercrime": "die Zentrale Ansprechstelle Cybercrime der Polizei",
    "cyber_first_aid": "die Cyber-Ersthilfe BW",
    "data_protection_authority": "die Landesdatenschutzbehörde (LfDI)",
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

ASK_TAX_TYPE = "Bitte wählen Sie die Steuer, dann nenne ich Ihnen die zuständige Stelle:"
TAX_TYPE_BUTTONS = (
    {"title": "Gewerbe- oder Grundsteuer", "payload": '/tax_relief{"tax_type": "municipal"}'},
    {"title": "Einkommen-, Körperschaft-, Umsatzsteuer", "payload": '/tax_relief{"tax_type": "state"}'},
)
OLD_SOURCE_NOTE = "Einige Angaben stammen von einer älteren Seite – bitte auf der verlinkten Seite prüfen."
NEXT_STEP_QUESTION = "Wie kann ich Ihnen weiterhelfen?"
NOTED = "Danke, das habe ich notiert."
ASK_TOPIC = "Danke für Ihre Angaben! Zu welchem Thema haben Sie eine Frage?"
CLARIFY = "Ich bin nicht sicher, ob ich Sie richtig verstanden habe. Meinen Sie {options}?"
GIVE_UP = (
    "Entschuldigung, ich habe Sie leider wieder nicht verstanden. "
    "Bitte wenden Sie sich direkt an {addressee} – dort hilft man Ihnen persönlich weiter."
)
HANDOFF = (
    "Gern verbinde ich Sie mit einer Person: Sie können sich direkt an {addressee} wenden – "
    "oder ich nehme Ihr Anliegen auf, dann meldet man sich bei Ihnen."
)
#: Handoff for an outside body: the city's coordinating office takes the request and forwards it.
HANDOFF_FORWARD = (
    "Gern: Sie können sich direkt an {addressee} wenden. Oder ich nehme Ihr Anliegen auf – "
    "{coordinator} leitet es weiter."
)

# --- escalation (contact form, case, live chat) ----------------------------------------------

ESCALATION_INTRO = (
    "Dafür stelle ich Ihnen ein paar kurze Fragen. Mit „abbrechen“ können Sie jederzeit aufhören."
)
LIVE_CHAT_NEEDS_CASE = (
    "Gern. Damit eine Person den Chat übernehmen kann, nehme ich zuerst kurz Ihr Anliegen auf. "
    "Mit „abbrechen“ können Sie jederzeit aufhören."
)
URGENT_OFFER = "Das klingt dringend. Soll sich eine Person der zuständigen Stelle bei Ihnen melden?"
CALLBACK_OFFER = "Oder soll sich jemand bei Ihnen melden?"

SKIP_BUTTON = {"title": "Überspringen", "payload": "/deny"}
YES_NO_BUTTONS = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nein", "payload": "/deny"}]
URGENT_BUTTONS = [
    {"title": "Ja", "payload": "/human_handoff"},
    {"title": "Nein, danke", "payload": "/deny"},
]
CALLBACK_BUTTON = {"title": "Rückruf anfordern", "payload": "/human_handoff"}
CHANNEL_BUTTONS = [
    {"title": "E-Mail", "payload": "E-Mail"},
    {"title": "Telefon", "payload": "Telefon"},
    {"title": "Egal", "payload": "egal"},
]
LIVE_CHAT_BUTTON = {"title": "Jetzt live chatten", "payload": "/live_chat_request"}

#: Questions of escalation_form, asked by action_ask_<slot> (one at a time).
ASK_NAME = "Wie ist Ihr Name? (Wenn Sie ihn nicht nennen möchten: „überspringen“.)"
ASK_COMPANY = "Für welches Unternehmen schreiben Sie? (Oder „überspringen“.)"
ASK_EMAIL = (
    "Unter welcher E-Mail-Adresse erreicht man Sie? Wenn Sie lieber angerufen werden möchten: „überspringen“."
)
ASK_EMAIL_HAVE_PHONE = (
    "Unter welcher E-Mail-Adresse erreicht man Sie? Ihre Telefonnummer habe ich schon – "
    "Sie können auch „überspringen“."
)
ASK_PHONE = "Unter welcher Telefonnummer erreicht man Sie?"
ASK_PHONE_OPTIONAL = "Möchten Sie auch eine Telefonnummer angeben? Sonst einfach „überspringen“."
ASK_DESCRIPTION = "Worum geht es? Beschreiben Sie Ihr Anliegen bitte kurz in ein, zwei Sätzen."
ASK_CHANNEL = "Wie möchten Sie kontaktiert werden?"
CONSENT_SUMMARY = "Ihre Angaben: {details}."
ASK_CONSENT = (
    "Darf sich {addressee} mit diesen Angaben bei Ihnen melden? "
    "Ihre Angaben werden nur für diese Anfrage verwendet."
)
ASK_CONSENT_FORWARD = (
    "Darf {coordinator} diese Angaben an {addressee} weitergeben, damit man sich bei Ihnen meldet? "
    "Ihre Angaben werden nur für diese Anfrage verwendet."
)

#: Hints after an answer the form cannot use (the question follows again).
INVALID_NAME = "Das habe ich nicht als Namen verstanden."
INVALID_COMPANY = "Das habe ich nicht als Firmennamen verstanden."
INVALID_EMAIL = "Das sieht nicht nach einer E-Mail-Adresse aus (Beispiel: name@firma.de)."
INVALID_PHONE = "Das sieht nicht nach einer deutschen Telefonnummer aus (Beispiel: 0621 123456)."
NEED_CONTACT = (
    "Damit sich jemand bei Ihnen melden kann, brauche ich eine Telefonnummer oder eine E-Mail-Adresse."
)
PHONE_NOTED_INSTEAD = "Danke, ich habe Ihre Telefonnummer notiert."
EMAIL_NOTED_INSTEAD = "Danke, ich habe Ihre E-Mail-Adresse notiert."
DESCRIPTION_TOO_SHORT = "Bitte beschreiben Sie Ihr Anliegen etwas genauer (mindestens {min} Zeichen)."
DESCRIPTION_TOO_LONG = (
    "Das ist leider zu lang: Bitte fassen Sie Ihr Anliegen in höchstens {max} Zeichen zusammen."
)
INVALID_CHANNEL = "Bitte wählen Sie E-Mail, Telefon oder egal."
INVALID_CONSENT = "Bitte antworten Sie mit Ja oder Nein."

CHANNEL_PHRASES: dict[str, str] = {"email": "per E-Mail", "phone": "telefonisch", "any": ""}

CASE_CREATED = (
    "Vielen Dank! Ihre Anfrage hat die Nummer {case_number}. Ich habe sie an {addressee} weitergegeben; "
    "man meldet sich {channel}{when} bei Ihnen."
)
CASE_QUEUED = (
    "Vielen Dank! Ihre Anfrage hat die Nummer {case_number}. Sie ist gespeichert und wird an {addressee} "
    "weitergegeben; man meldet sich {channel}{when} bei Ihnen."
)
#: Cases for offices that work them in the staff console, but without sourced hours: no date is promised.
CASE_CREATED_NO_DATE = (
    "Vielen Dank! Ihre Anfrage hat die Nummer {case_number}. Ich habe sie an {addressee} weitergegeben; "
    "man meldet sich {channel}so bald wie möglich bei Ihnen."
)
CASE_QUEUED_NO_DATE = (
    "Vielen Dank! Ihre Anfrage hat die Nummer {case_number}. Sie ist gespeichert und wird an {addressee} "
    "weitergegeben; man meldet sich {channel}so bald wie möglich bei Ihnen."
)
#: Cases about an outside body (Agentur für Arbeit, Kammern, Finanzamt …): the city coordinates, promises nothing
#: on the outside body's behalf.
CASE_FORWARDED = (
    "Vielen Dank! Ihre Anfrage hat die Nummer {case_number}. {coordinator} nimmt sie entgegen und leitet sie "
    "an {outside} weiter. Die Antwort kommt {from_outside}, nach den dortigen Abläufen; "
    "eine Frist kann ich Ihnen dafür nicht zusagen."
)
CASE_NOT_SAVED = (
    "Entschuldigung, ich konnte Ihre Anfrage gerade nicht speichern. "
    "Bitte wenden Sie sich direkt an {addressee}."
)
CASE_DECLINED = (
    "In Ordnung, ich lege keine Anfrage an und gebe nichts weiter. "
    "Sie können sich jederzeit selbst an {addressee} wenden."
)
LIVE_CHAT_OFFER = "Gerade sind Mitarbeitende online. Möchten Sie direkt mit jemandem chatten?"
LIVE_CHAT_STARTED = (
    "Einen Moment bitte: Eine Person {from_unit} übernimmt gleich diesen Chat (Anfrage {case_number})."
)
LIVE_CHAT_FAILED = (
    "Im Moment kann leider niemand den Chat übernehmen. Man meldet sich wie gewünscht bei Ihnen "
    "(Anfrage {case_number})."
)
HANDBACK = (
    "Ich bin wieder für Sie da. Wenn Sie noch Fragen haben, zum Beispiel zu Kurzarbeit, Soforthilfen "
    "oder Krediten, schreiben Sie mir einfach."
)

#: "Eine Person <phrase> übernimmt …"; fallback: "von <unit name>".
UNIT_FROM: dict[str, str] = {
    "employment_agency": "von der Agentur für Arbeit",
    "business_development": "von der Wirtschaftsförderung",
    "tax_office": "von der Steuerverwaltung der Stadt",
    "state_tax_office": "vom Finanzamt",
    "citizen_services": "von den Bürgerdiensten",
    "trade_office": "von der Gewerbestelle der Stadt",
    "health_office": "vom Gesundheitsamt",
    "accounts_payable": "vom Zentralen Rechnungseingang der Stadt",
    "digital_office": "vom Fachbereich Informationstechnologie der Stadt",
    "data_protection_officer": "vom Datenschutz der Stadt",
    "startup_centres": "von den Mannheimer Gründungszentren",
    "chamber_of_commerce": "von der IHK Rhein-Neckar",
    "chamber_of_crafts": "von der Handwerkskammer",
    "police_cybercrime": "von der Polizei",
    "cyber_first_aid": "von der Cyber-Ersthilfe BW",
    "data_protection_authority": "von der Landesdatenschutzbehörde",
}


#: "<nominative> nimmt sie entgegen" (capitalised at the start of a sentence); fallback: the unit's name.
UNIT_NOMINATIVES: dict[str, str] = {
    **{uid: phrase[0].upper() + phrase[1:] for uid, phrase in UNIT_ADDRESSEES.items()
       if phrase.startswith(("die ", "das "))},
    "accounts_payable": "Der Zentrale Rechnungseingang der Stadt",
    "digital_office": "Der Fachbereich Informationstechnologie der Stadt",
    "data_protection_officer": "Der Datenschutzbeauftragte der Stadt",
}


def nominative(unit_id: str, name: str, *, sentence_start: bool = True) -> str:
    """'Die Handwerkskammer' at the start of a sentence, 'die Handwerkskammer' inside one; else the name."""
    phrase = UNIT_NOMINATIVES.get(unit_id, name)
    if not sentence_start and phrase.startswith(("Die ", "Das ", "Der ")):
        return phrase[0].lower() + phrase[1:]
    return phrase


def addressee(unit_id: str, name: str) -> str:
    """Accusative phrase for a unit ("die Handwerkskammer"), falling back to its name."""
    return UNIT_ADDRESSEES.get(unit_id, name)


def from_unit(unit_id: str, name: str) -> str:
    """'von der Handwerkskammer', falling back to 'von <name>'."""
    return UNIT_FROM.get(unit_id, f"von {name}")


def join_or(items: list[str]) -> str:
    """'A', 'A oder B', 'A, B oder C'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " oder " + items[-1]
