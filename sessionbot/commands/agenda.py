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
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from scheduling import commands
    from sessionbot.wiring import build
    from store import repos

    day = None
    if args.date:
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            print(f"Not a date (YYYY-MM-DD): {args.date!r}")
            return 2
    parts = build(settings)
    with parts.store.unit() as s:
        clinician = repos.get_clinician(s, args.team, args.user)
        if args.daily is not None:
            wanted = None if args.daily.lower() == "off" else commands.agenda_clock(args.daily)
            if wanted is None and args.daily.lower() != "off":
                print("Give the agenda time as HH:MM (like 07:30), or off.")
                return 2
            print(commands.set_agenda(s, clinician, wanted).text)
            return 0
        tz = commands.clinician_zone(clinician, parts.practice)
        day = day or datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
        found = commands.agenda(s, clinician, day, parts.practice, settings.public_url)
    print("\n".join(commands.agenda_lines(found)))
    return 0
