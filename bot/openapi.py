"""Hand-written OpenAPI 3.1 description of the web app's HTTP endpoints (served at /openapi.json).

socket.io (/socket.io/) is described in docs/web-contract.md; OpenAPI cannot express it.
A test checks that every named HTTP route is described here and that real responses match the schemas.
"""

from __future__ import annotations

import copy
from typing import Any

SESSION_PATTERN = "^[A-Za-z0-9_-]{16,128}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str, retry_after: bool = False) -> dict[str, Any]:
    response = _json(_ref("Error"), description)
    if retry_after:
        response["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}
    return response


def _body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema_name)}}}


BAD_REQUEST = _error("Empty body, invalid JSON, invalid UTF-8, or a missing/invalid field")
FORBIDDEN = _error("The request comes from a browser origin that may not use the service (CORS)")
TOO_LARGE = _error("The request body is larger than the limit")
RATE_LIMITED = _error("Too many messages or requests in a short time", retry_after=True)
UNKNOWN = _error("Unknown conversation (or an id of invalid form)")
NO_CONTENT = {"description": "Done"}

SESSION_PARAM = {
    "name": "session_id", "in": "path", "required": True,
    "description": "The random session id the widget created (knowing it authorises access)",
    "schema": {"type": "string", "pattern": SESSION_PATTERN},
}

COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "description": "machine-readable, e.g. message_too_long"},
                        "message": {"type": "string", "description": "German text for the user"},
                    },
                }
            },
        },
        "SessionId": {"type": "string", "pattern": SESSION_PATTERN},
        "Metadata": {
            "type": "object",
            "description": "What the widget knows about the page; consent: true also records consent",
            "properties": {
                "page_url": {"type": "string"},
                "page_language": {"type": "string"},
                "consent": {"type": "boolean"},
            },
        },
        "Button": {
            "type": "object",
            "required": ["title", "payload"],
            "properties": {"title": {"type": "string"}, "payload": {"type": "string"}},
        },
        "RestMessage": {
            "type": "object",
            "required": ["sender", "message"],
            "properties": {
                "sender": _ref("SessionId"),
                "message": {"type": "string", "description": "at most KRISENLOTSE_MAX_MESSAGE_CHARS characters"},
                "metadata": _ref("Metadata"),
            },
        },
        "BotMessage": {
            "type": "object",
            "required": ["recipient_id", "message_id"],
            "properties": {
                "recipient_id": {"type": "string"},
                "text": {"type": "string"},
                "buttons": {"type": "array", "items": _ref("Button")},
                "custom": {"type": "object", "description": 'e.g. {"type": "contact_card", "unit": {...}}'},
                "image": {"type": "string"},
                "message_id": {"type": "string"},
                "error": {"type": "string", "description": "set when Rasa was unavailable (rasa_unavailable)"},
            },
        },
        "Consent": {
            "type": "object",
            "required": ["session_id"],
            "properties": {
                "session_id": _ref("SessionId"),
                "page_url": {"type": "string"},
                "page_language": {"type": "string"},
            },
        },
        "Feedback": {
            "type": "object",
            "required": ["session_id", "message_id", "rating"],
            "properties": {
                "session_id": _ref("SessionId"),
                "message_id": {"type": "string", "minLength": 1, "maxLength": 64},
                "rating": {"enum": ["up", "down"]},
                "comment": {"type": ["string", "null"]},
            },
        },
        "StoredMessage": {
            "type": "object",
            "required": ["id", "sender", "text", "buttons", "custom", "timestamp", "feedback"],
            "properties": {
                "id": {"type": "string"},
                "sender": {"enum": ["user", "bot"]},
                "text": {"type": ["string", "null"]},
                "buttons": {"oneOf": [{"type": "array", "items": _ref("Button")}, {"type": "null"}]},
                "custom": {"type": ["object", "null"]},
                "timestamp": {"type": "string", "format": "date-time"},
                "feedback": {"enum": ["up", "down", None]},
                "delivered": {"type": "boolean", "description": "false: Rasa did not answer this message"},
                "staff_name": {"type": "string", "description": "set on replies of city staff (live handover)"},
            },
        },
        "History": {
            "type": "object",
            "required": ["messages"],
            "properties": {"messages": {"type": "array", "items": _ref("StoredMessage")}},
        },
        "NewCase": {
            "type": "object",
            "required": ["case_number", "session_id", "unit", "priority", "trigger", "contact"],
            "properties": {
                "case_number": {"type": "string", "pattern": "^KL-[A-Z0-9]{4}-[A-Z0-9]{4}$"},
                "session_id": _ref("SessionId"),
                "unit": {"type": "string"},
                "secondary_units": {"type": "array", "items": {"type": "string"}},
                "topic": {"type": ["string", "null"]},
                "priority": {"enum": ["high", "normal"]},
                "trigger": {"enum": ["human_handoff", "misunderstanding", "feedback", "urgent"]},
                "urgent_signals": {"type": "array", "items": {"type": "string"}},
                "contact": {"type": "object", "required": ["consent"], "properties": {
                    "name": {"type": ["string", "null"]}, "company": {"type": ["string", "null"]},
                    "email": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]},
                    "preferred_channel": {"enum": ["email", "phone", "any", None]},
                    "consent": {"const": True}}},
                "description": {"type": ["string", "null"]},
                "expected_response_by": {"type": ["string", "null"], "format": "date-time"},
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "CaseAck": {
            "type": "object",
            "required": ["case_number", "status"],
            "properties": {"case_number": {"type": "string"}, "status": {"type": "string"}},
        },
        "Availability": {
            "type": "object",
            "required": ["unit", "staff_online"],
            "properties": {"unit": {"type": "string"}, "staff_online": {"type": "integer", "minimum": 0}},
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"const": "ok"}},
        },
        "Readiness": {
            "type": "object",
            "required": ["status", "checks"],
            "properties": {
                "status": {"enum": ["ready", "unavailable"]},
                "checks": {
                    "type": "object",
                    "required": ["rasa", "actions", "database"],
                    "properties": {name: {"enum": ["ok", "unavailable"]} for name in ("rasa", "actions", "database")},
                },
            },
        },
    }
}

PATHS: dict[str, Any] = {
    "/": {"get": {
        "operationId": "index", "summary": "Demo page with the chat widget",
        "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}},
    }},
    "/datenschutz": {"get": {
        "operationId": "privacy", "summary": "Privacy notice (Datenschutzhinweise)",
        "responses": {
            "200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}},
            "404": {"description": "Page not installed", "content": {"text/html": {"schema": {"type": "string"}}}},
        },
    }},
    "/widget.js": {"get": {
        "operationId": "widget_js", "summary": "The embeddable chat widget (served with CORS to any origin)",
        "responses": {
            "200": {"description": "JavaScript", "content": {"text/javascript": {"schema": {"type": "string"}}}},
            "404": {"description": "Widget not installed", "content": {"text/html": {"schema": {"type": "string"}}}},
        },
    }},
    "/widget.css": {"get": {
        "operationId": "widget_css", "summary": "The widget's style sheet (served with CORS to any origin)",
        "responses": {
            "200": {"description": "CSS", "content": {"text/css": {"schema": {"type": "string"}}}},
            "404": {"description": "Widget not installed", "content": {"text/html": {"schema": {"type": "string"}}}},
        },
    }},
    "/webhooks/rest/webhook": {"post": {
        "operationId": "rest_webhook",
        "summary": "Send a user message (Rasa REST channel format); returns the bot's messages",
        "description": "When Rasa is unavailable the answer is still 200: a polite German message and the "
                       "contact card of the Wirtschaftsförderung, each with error: rasa_unavailable.",
        "requestBody": _body("RestMessage"),
        "responses": {
            "200": _json({"type": "array", "items": _ref("BotMessage"), "minItems": 1}, "The bot's messages"),
            "400": BAD_REQUEST, "403": FORBIDDEN, "413": TOO_LARGE,
            "422": _error("The message is longer than KRISENLOTSE_MAX_MESSAGE_CHARS"),
            "429": RATE_LIMITED,
        },
    }},
    "/api/v1/consent": {"post": {
        "operationId": "consent",
        "summary": "Consent to storing the conversation (nothing is stored before)",
        "requestBody": _body("Consent"),
        "responses": {"204": NO_CONTENT, "400": BAD_REQUEST, "403": FORBIDDEN, "413": TOO_LARGE,
                      "429": RATE_LIMITED},
    }},
    "/api/v1/conversations/{session_id}/messages": {"get": {
        "operationId": "history", "summary": "The stored messages of a consented conversation",
        "parameters": [SESSION_PARAM],
        "responses": {"200": _json(_ref("History"), "Messages in order"), "403": FORBIDDEN, "404": UNKNOWN},
    }},
    "/api/v1/conversations/{session_id}": {"delete": {
        "operationId": "delete_conversation",
        "summary": "Erase the conversation from the transcript store and from Rasa's tracker",
        "parameters": [SESSION_PARAM],
        "responses": {
            "204": NO_CONTENT, "403": FORBIDDEN, "404": UNKNOWN, "429": RATE_LIMITED,
            "503": _error("Deleted here, but Rasa's tracker could not be cleared yet; try again", True),
        },
    }},
    "/api/v1/feedback": {"post": {
        "operationId": "feedback", "summary": "Rate a bot message (thumbs up/down, optional comment)",
        "requestBody": _body("Feedback"),
        "responses": {
            "204": NO_CONTENT, "400": BAD_REQUEST, "403": FORBIDDEN,
            "404": _error("No such bot message in this conversation (or no consent)"),
            "413": TOO_LARGE, "422": _error("The comment is too long"), "429": RATE_LIMITED,
        },
    }},
    "/internal/v1/cases": {"post": {
        "operationId": "internal_create_case",
        "summary": "Internal (loopback + bearer token): the action server hands over a case; idempotent",
        "requestBody": _body("NewCase"),
        "responses": {"201": _json(_ref("CaseAck"), "Created"), "200": _json(_ref("CaseAck"), "Known already"),
                      "400": BAD_REQUEST, "401": _error("Missing or wrong token"),
                      "403": _error("Not from loopback"), "413": TOO_LARGE},
    }},
    "/internal/v1/units/{unit}/availability": {"get": {
        "operationId": "internal_availability",
        "summary": "Internal: how many staff of the unit are connected to the console right now",
        "parameters": [{"name": "unit", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json(_ref("Availability"), "Staff online"), "401": _error("Missing or wrong token"),
                      "403": _error("Not from loopback"), "404": _error("Unknown unit")},
    }},
    "/internal/v1/cases/{case_number}/live": {"post": {
        "operationId": "internal_request_live",
        "summary": "Internal: the entrepreneur asked to chat live now (shown to the unit's staff)",
        "parameters": [{"name": "case_number", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json(_ref("CaseAck"), "Requested"), "401": _error("Missing or wrong token"),
                      "403": _error("Not from loopback"), "404": _error("Unknown case")},
    }},
    "/healthz": {"get": {
        "operationId": "healthz", "summary": "The process is alive",
        "responses": {"200": _json(_ref("Health"), "Alive")},
    }},
    "/readyz": {"get": {
        "operationId": "readyz", "summary": "Rasa (model loaded), the action server and the database answer",
        "responses": {"200": _json(_ref("Readiness"), "Ready"), "503": _json(_ref("Readiness"), "Not ready")},
    }},
    "/openapi.json": {"get": {
        "operationId": "openapi", "summary": "This description",
        "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document")},
    }},
}


def spec() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Krisenlotse web app",
            "version": "1.0.0",
            "description": "Public HTTP endpoints of the Krisenlotse chat service. Errors are "
                           '{"error": {"code", "message"}} with a German message. The socket.io channel '
                           "(/socket.io/) follows Rasa's socket.io protocol (see docs/web-contract.md).",
        },
        "servers": [{"url": "/"}],
        "paths": copy.deepcopy(PATHS),
        "components": copy.deepcopy(COMPONENTS),
    }
