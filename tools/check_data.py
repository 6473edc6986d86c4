"""Validate the contact directory, routing table and topic answers, and report how well they are sourced.

    .venv-rasa/bin/python tools/check_data.py [--today YYYY-MM-DD]     (part of `make validate`)

Exit code 1 when a file is invalid (the error names file, line, entry and field) — a value without a source
is invalid. Printed: per unit the fields present, the fields sourced and the oldest source date; per answer
its sources, `checked` and `review_by`. Warnings (exit code 0): sources read longer ago than
KRISENLOTSE_SOURCE_MAX_AGE_DAYS (default 180), pages older than three years, answers past `review_by`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actions.answers import load_answers  # noqa: E402
from actions.content import content_report  # noqa: E402
from actions.datafile import DataFileError  # noqa: E402
from actions.directory import load_directory  # noqa: E402
from actions.routing import load_routing  # noqa: E402
from actions.sources import max_age_days  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    args = parser.parse_args(argv)
    try:
        directory = load_directory()
        routing = load_routing()
        answers = load_answers()
    except DataFileError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    report = content_report(directory, routing, answers, today=args.today, max_age_days=max_age_days())
    print(report.render())
    if report.errors:
        for error in report.errors:
            print(f"INVALID: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
