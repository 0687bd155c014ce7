"""`sessionbot calendar-url [--user U] [--team T] [--rotate]`: the clinician's calendar
feed link (made on first use); `--rotate` replaces it, and the old link answers 404 at
once. Printed to the terminal only: it is the clinician's to keep."""

from __future__ import annotations

import argparse

from ground.settings import Settings
from sessionbot.commands import add_clinician

NAME = "calendar-url"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="the clinician's calendar feed link (an .ics to subscribe to)")
    p.add_argument(
        "--rotate", action="store_true", help="make a new link; the old one stops at once"
    )
    add_clinician(p, acting=False)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from scheduling import calendar_link
    from sessionbot.wiring import build
    from store import clinician_rows

    parts = build(settings)
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, args.team, args.user)
        if args.rotate:
            shown, seen = calendar_link.show(s, clinician, settings.public_url)
            if shown.changed:  # none before: the one just made is the new link
                print(shown.text)
                return 0
            done, _ = calendar_link.rotate(
                s, clinician, settings.public_url, seen, datetime.now(UTC)
            )
        else:
            done, _ = calendar_link.show(s, clinician, settings.public_url)
    print(done.text)
    return 0
