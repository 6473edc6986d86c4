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
UNIT_FIELDS_UNVERIFIABLE = ("phone", "email", "web", "address", "opening_hours", "languages")

UNIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "name",
        "description",
        "phone",
        "email",
        "web",
        "address",
        "opening_hours",
        "languages",
        "verified",
    ],
    "additionalProperties": False,
    "properties": {
        "name": _TEXT,
        "description": _TEXT,
        "phone": {
            "type": ["string", "null"],
            "pattern": r"^\+?[0-9][0-9 /()-]{4,}$",
            "description": "a phone number (digits, spaces, + / - ( ))",
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
        "languages": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": r"^[a-z]{2}$", "description": "an ISO 639-1 code"},
        },
        "verified": {"type": "boolean"},
        "note": _TEXT,
        "unverified": {
            "type": "array",
            "uniqueItems": True,
            "items": {
                "enum": list(UNIT_FIELDS_UNVERIFIABLE),
                "description": f"one of {', '.join(UNIT_FIELDS_UNVERIFIABLE)}",
            },
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

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["text", "source", "checked", "buttons"],
    "additionalProperties": False,
    "properties": {
        "text": {"type": "string", "minLength": 40, "maxLength": 900},
        "source": {
            "type": "object",
            "required": ["title", "url"],
            "additionalProperties": False,
            "properties": {
                "title": {"type": "string", "minLength": 3},
                "url": HTTPS_URL,
            },
        },
        "checked": {},  # a date (YAML timestamp or 'YYYY-MM-DD'), checked below
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
