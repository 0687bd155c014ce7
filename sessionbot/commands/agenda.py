"""`sessionbot agenda [--date YYYY-MM-DD] [--user U]`: the day's sessions in time order,
both zones, status, RSVP and payment; `--daily HH:MM|off` sets the morning agenda DM."""

from __future__ import annotations

import argparse

from ground.settings import Settings
from sessionbot.commands import add_clinician

NAME = "agenda"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="the day's sessions (default: today, in your zone)")
    p.add_argument("--date", help="the day, YYYY-MM-DD (default: today)")
    p.add_argument(
        "--daily", metavar="HH:MM|off", help="send the agenda as a Slack DM each morning"
    )
    add_clinician(p)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import date

    from scheduling import agendas
    from scheduling.service import Actor
    from sessionbot.wiring import build

    day = None
    if args.date:
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            print(f"Not a date (YYYY-MM-DD): {args.date!r}")
            return 2
    scheduler = build(settings).scheduler
    who = Actor(args.team, args.user, for_user=args.for_user)
    if args.daily is not None:
        wanted = None if args.daily.lower() == "off" else agendas.agenda_clock(args.daily)
        if wanted is None and args.daily.lower() != "off":
            print("Give the agenda time as HH:MM (like 07:30), or off.")
            return 2
        print(scheduler.set_agenda(who, wanted).text)
        return 0
    found = scheduler.agenda(who, day)
    print("\n".join(agendas.agenda_lines(found)))
    return 0
