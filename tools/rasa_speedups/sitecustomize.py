"""Run-time speed-ups for the Rasa server, loaded by Python at start-up because tools/stack.py puts this
folder on Rasa's PYTHONPATH (Rasa environment only; nothing else imports it).

Rasa 3.6 validates every action server response with ``jsonschema.validate(result, schema)``
(rasa/core/actions/action.py, RemoteAction._validate_action_result). That function checks the schema
against its meta-schema and builds a new validator on every call: ~19 ms CPU per custom action here,
a third of Rasa's time per message. This replaces ``jsonschema.validate`` by the same check with one
validator per schema, built and meta-checked once (~1 ms). Same errors, same exception type.
Measured before/after: docs/performance.md.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import jsonschema
    import jsonschema.exceptions
    import jsonschema.validators
except ImportError:  # pragma: no cover - not the Rasa environment
    jsonschema = None

_MAX_CACHED = 64


def _install() -> None:
    cache: dict[tuple[str, Any], Any] = {}

    def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
        try:
            key = (json.dumps(schema, sort_keys=True, default=repr), cls)
        except (TypeError, ValueError):
            key = None
        validator = cache.get(key) if key is not None else None
        if validator is None:
            klass = cls or jsonschema.validators.validator_for(schema)
            klass.check_schema(schema)
            validator = klass(schema, *args, **kwargs)
            if key is not None and len(cache) < _MAX_CACHED:
                cache[key] = validator
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    validate.__doc__ = jsonschema.validate.__doc__
    jsonschema.validate = validate


if jsonschema is not None:
    _install()
