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
    from datetime import datetime

    from scheduling.service import Actor
    from sessionbot.wiring import build

    try:
        wanted = datetime.fromisoformat(args.to)
    except ValueError:
        print(f"Not an ISO 8601 time: {args.to!r}")
        return 2
    moved = build(settings).scheduler.move(
        Actor(args.team, args.user, for_user=args.for_user), args.id, wanted
    )
    assert moved is not None  # no idempotency key: never a repeat
    done, check, overlap = moved.done, moved.check, moved.overlap
    if overlap:
        print(f"Note: {overlap}")
    print(done.text)
    if not done.found:
        return 1
    return 0 if done.changed or check.start is not None else 1
