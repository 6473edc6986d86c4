"""JSON Schemas (draft 7) of the data files; semantic checks (times, overlaps, unit ids) live in the loaders.

data/contacts.yml -> CONTACTS_SCHEMA, data/routing.yml -> ROUTING_SCHEMA, data/answers.yml -> ANSWERS_SCHEMA.
A ``description`` on a leaf schema becomes the "is not <description>" part of the error message.
"""

from __future__ import annotations

from typing import Any

from actions.intents import ALL_INTENTS, INDUSTRIES, TOPIC_DEPENDENT_INTENTS, TOPICAL_INTENTS

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HTTPS_URL = {
    "type": "string",
    "pattern": r"^https://[a-z0-9.-]+\.[a-z]{2,}(/\S*)?$",
    "description": "an https:// URL",
}

# --- data/contacts.yml ---------------------------------------------------------------------

_TIME = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d$",
    "description": "a time in HH:MM format (00:00-23:59)",
}
_INTERVAL = {"type": "array", "items": _TIME, "minItems": 2, "maxItems": 2}
_TEXT = {"type": "string", "minLength": 1}
#: Where a fact was read: the page (never a domain root), when it was read and, if the page states it, its date.
SOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["url", "retrieved"],
    "additionalProperties": False,
    "properties": {
        "url": {
            "type": "string",
            "pattern": r"^https?://[a-z0-9.-]+\.[a-z]{2,}/\S+$",  # a page: see sources.is_page_url
            "description": "the URL of a specific page (with a path, not a domain root)",
        },
        "retrieved": {},  # a date, checked by the loader
        "as_of": {},  # optional: the date the page itself states
        "title": _TEXT,
    },
}
#: Fields of a unit whose value must come from a cited page.
SOURCED_UNIT_FIELDS: tuple[str, ...] = ("name", "phone", "email", "web", "address", "opening_hours", "note")

UNIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "name",
        "description",
        "handles_cases",
        "phone",
        "email",
        "web",
        "address",
        "opening_hours",
        "languages",
        "sources",
    ],
    "additionalProperties": False,
    "properties": {
        "name": _TEXT,
        "description": _TEXT,
        "handles_cases": {"type": "boolean"},
        "phone": {
            "type": ["string", "null"],
            "pattern": r"^(\+?[0-9][0-9 /()-]{4,}|11[0-9])$",
            "description": "a phone number (digits, spaces, + / - ( )) or a 11x service number such as 115",
        },
        "email": {
            "type": ["string", "null"],
            "pattern": r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$",
            "description": "an e-mail address",
        },
        "web": HTTPS_URL,
        "address": {"type": ["string", "null"], "minLength": 5},
        "opening_hours": {
            "type": ["object", "null"],
            "required": list(DAYS),
            "additionalProperties": False,
            "properties": {day: {"type": "array", "items": _INTERVAL} for day in DAYS},
        },
        "hours_note": _TEXT,
        "languages": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": r"^[a-z]{2}$", "description": "an ISO 639-1 code"},
        },
        "note": _TEXT,
        "sources": {
            "type": "object",
            "propertyNames": {
                "enum": list(SOURCED_UNIT_FIELDS),
                "description": f"one of {', '.join(SOURCED_UNIT_FIELDS)}",
            },
            "additionalProperties": SOURCE_SCHEMA,
        },
    },
}

CONTACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["units"],
    "additionalProperties": False,
    "properties": {
        "units": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": r"^[a-z][a-z0-9_]*$", "description": "a snake_case unit id"},
            "additionalProperties": UNIT_SCHEMA,
        }
    },
}


# --- data/routing.yml ----------------------------------------------------------------------

_UNIT_ID = {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$", "description": "a unit id"}

ROUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["intent", "primary"],
    "additionalProperties": False,
    "properties": {
        "intent": {"enum": list(TOPICAL_INTENTS), "description": "a topical intent"},
        "when": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "industry": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"enum": list(INDUSTRIES), "description": "a known industry value"},
                },
                "district": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string", "minLength": 1},
                },
                "tax": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"enum": ["municipal", "state", "both"], "description": "municipal, state or both"},
                },
                "employees_min": {"type": "integer", "minimum": 0},
                "employees_max": {"type": "integer", "minimum": 0},
            },
        },
        "primary": _UNIT_ID,
        "secondary": {"type": "array", "uniqueItems": True, "items": _UNIT_ID},
    },
}

ROUTING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["default_unit", "routes"],
    "additionalProperties": False,
    "properties": {
        "default_unit": _UNIT_ID,
        "topic_dependent": {
            "type": "array",
            "uniqueItems": True,
            "items": {
                "enum": list(TOPIC_DEPENDENT_INTENTS),
                "description": f"one of {', '.join(TOPIC_DEPENDENT_INTENTS)}",
            },
        },
        "routes": {"type": "array", "minItems": 1, "items": ROUTE_SCHEMA},
    },
}


# --- data/answers.yml ----------------------------------------------------------------------

BUTTON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["title", "payload"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 2, "maxLength": 40},
        "payload": {
            "enum": sorted(f"/{intent}" for intent in ALL_INTENTS),
            "description": "'/<intent>' with a known intent",
        },
    },
}

_ANSWER_TEXT = {"type": "string", "minLength": 40, "maxLength": 900}
_ANSWER_SOURCES = {"type": "array", "minItems": 1, "maxItems": 10, "items": {**SOURCE_SCHEMA, "required": ["title", "url", "retrieved"]}}

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["text", "sources", "checked", "review_by", "buttons"],
    "additionalProperties": False,
    "properties": {
        "text": _ANSWER_TEXT,
        "sources": _ANSWER_SOURCES,
        "checked": {},  # a date (YAML timestamp or 'YYYY-MM-DD'), checked by the loader
        "review_by": {},  # likewise: when the answer must be checked again
        "variants": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": r"^[a-z][a-z_]*$", "description": "a snake_case variant name"},
            "additionalProperties": {
                "type": "object",
                "required": ["text", "sources"],
                "additionalProperties": False,
                "properties": {"text": _ANSWER_TEXT, "sources": _ANSWER_SOURCES},
            },
        },
        "buttons": {"type": "array", "minItems": 2, "maxItems": 3, "items": BUTTON_SCHEMA},
    },
}

ANSWERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["answers"],
    "additionalProperties": False,
    "properties": {
        "answers": {
            "type": "object",
            "required": list(TOPICAL_INTENTS),
            "propertyNames": {"enum": list(TOPICAL_INTENTS), "description": "a topical intent"},
            "additionalProperties": ANSWER_SCHEMA,
        }
    },
}
