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
    from scheduling.service import Actor
    from sessionbot.wiring import build

    scheduler = build(settings).scheduler
    print(scheduler.calendar_feed(Actor(args.team, args.user), rotate=args.rotate))
    return 0
