"""`sessionbot hours --user U [--team T] --set "Mon-Thu 09:00-17:00" | --show | --clear`:
a clinician's own working hours (in their zone), read by the one parser of hours specs;
without their own, the practice's default applies."""

from __future__ import annotations

import argparse

from ground.settings import Settings
from sessionbot.commands import add_clinician

NAME = "hours"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="a clinician's working hours: set, show or clear")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--set", metavar="HOURS", help='like "Mon-Thu 09:00-17:00" or "Mon 9-12, Wed 13-17"'
    )
    what.add_argument("--show", action="store_true", help="the hours that apply")
    what.add_argument("--clear", action="store_true", help="back to the practice's hours")
    add_clinician(p)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from scheduling.hours import hours_problem
    from scheduling.service import Actor
    from sessionbot.wiring import build

    scheduler = build(settings).scheduler
    who = Actor(args.team, args.user, for_user=args.for_user)
    if args.show:
        print(scheduler.own_hours(who)[1])
        return 0
    if args.clear:
        print(scheduler.set_hours(who, "").text)
        return 0
    problem = hours_problem(args.set)
    if problem:
        print(f"{problem} Nothing was changed.")
        return 2
    print(scheduler.set_hours(who, args.set).text)
    return 0
