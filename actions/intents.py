"""Intent and entity names the actions know about (binding names from docs/intents.md)."""

from __future__ import annotations

#: Topical intents: each one gets an answer from data/answers.yml and a routed contact card.
TOPICAL_INTENTS: tuple[str, ...] = (
    "short_time_work_eligibility",
    "short_time_work_application",
    "short_time_work_allowance",
    "emergency_aid",
    "loans_liquidity",
    "tax_relief",
    "business_operations_rules",
    "appointment_booking",
    "business_registration",
    "e_invoicing",
    "online_services",
    "digitalization_funding",
    "startup_support",
    "networks_events",
    "data_protection",
    "smart_city",
    "insolvency_restructuring",
    "cyber_incident",
    "energy_costs",
    "document_management",
)

#: Intents without a topic of their own: routed by the slot ``current_topic``.
TOPIC_DEPENDENT_INTENTS: tuple[str, ...] = ("contact_request", "human_handoff")

#: Escalation (docs/escalation-contract.md): leave the contact form, ask for a live chat with staff.
ESCALATION_INTENTS: tuple[str, ...] = ("stop", "live_chat_request")

CONVERSATION_INTENTS: tuple[str, ...] = (
    *TOPIC_DEPENDENT_INTENTS,
    "inform",
    "greet",
    "goodbye",
    "affirm",
    "deny",
    "thank",
    "bot_challenge",
    "out_of_scope",
    *ESCALATION_INTENTS,
)

ALL_INTENTS: frozenset[str] = frozenset(TOPICAL_INTENTS + CONVERSATION_INTENTS)

#: Normalised values of the ``industry`` entity.
INDUSTRIES: tuple[str, ...] = (
    "handwerk",
    "gastronomie",
    "einzelhandel",
    "dienstleistung",
    "industrie",
    "kultur_veranstaltung",
    "it_digital",
    "freie_berufe",
    "hotellerie",
    "gesundheit",
    "logistik",
)


#: Normalised values of the ``tax_type`` entity, by who levies the tax: the city (Gewerbe-, Grundsteuer) or
#: the state's Finanzamt (income, corporate, turnover and wage tax).
TAX_TYPES: dict[str, str] = {
    "gewerbesteuer": "municipal",
    "grundsteuer": "municipal",
    "einkommensteuer": "state",
    "koerperschaftsteuer": "state",
    "umsatzsteuer": "state",
    "lohnsteuer": "state",
}


def is_topical(intent: str | None) -> bool:
    """True for the topical intents."""
    return intent in TOPICAL_INTENTS
