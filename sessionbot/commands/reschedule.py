"""`sessionbot reschedule ID --to ISO [--user U]`: move a session; the participant is told."""

from __future__ import annotations

import argparse

from ground.settings import Settings
from sessionbot.commands import add_clinician

NAME = "reschedule"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="move a session (update sent, reminders replanned)")
    p.add_argument("id", help="the session id (`sessionbot sessions --json`)")
    p.add_argument("--to", required=True, help="new start, ISO 8601 (no offset: your zone)")
    add_clinician(p)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from scheduling import commands, starts
    from sessionbot.wiring import build
    from store import repos

    try:
        wanted = datetime.fromisoformat(args.to)
    except ValueError:
        print(f"Not an ISO 8601 time: {args.to!r}")
        return 2
    parts = build(settings)
    now = datetime.now(UTC)
    with parts.store.unit() as s:
        clinician = repos.get_clinician(s, args.team, args.user)
        if wanted.tzinfo is None:  # a wall time in the clinician's zone: the same rule as Slack
            zone = commands.clinician_zone(clinician, parts.practice)
            check = starts.check_start(
                wanted.date(), wanted.hour, wanted.minute, zone, now, parts.practice
            )
        else:
            check = starts.check_aware_start(wanted, now, parts.practice)
        overlap = None
        if check.start is not None:  # said before the move; the clinician may mean it
            overlap = commands.move_overlap(s, clinician, args.id, check.start, parts.practice)
        done = commands.reschedule(s, clinician, args.id, check, parts.practice, now)
    if overlap and done.changed:
        print(f"Note: {overlap}")
    print(done.text)
    if not done.found:
        return 1
    return 0 if done.changed or check.start is not None else 1
