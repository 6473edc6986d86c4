"""Validate the contact directory, routing table and topic answers; list unverified contact data.

    .venv-rasa/bin/python tools/check_data.py        (part of `make validate`)

Exit code 1 when a file is invalid (the error names file, line, entry and field). Unverified contact data
is listed, not an error: it is marked as such in data/contacts.yml and shown to users as unconfirmed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actions.answers import load_answers  # noqa: E402
from actions.datafile import DataFileError  # noqa: E402
from actions.directory import load_directory  # noqa: E402
from actions.routing import load_routing  # noqa: E402


def main() -> int:
    try:
        directory = load_directory()
        routing = load_routing()
        answers = load_answers()
    except DataFileError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    print(f"contacts.yml: {len(directory.units)} units; routing.yml: valid; answers.yml: {len(answers)} answers")
    unverified = [(u.id, u.unverified) for u in directory.units.values() if not u.verified or u.unverified]
    if unverified:
        print(f"Unverified contact data ({len(unverified)} units) — placeholders, check before going live:")
        for unit_id, fields in unverified:
            print(f"  {unit_id:26} {', '.join(fields) or '(unit not verified)'}")
    del routing
    return 0


if __name__ == "__main__":
    sys.exit(main())
