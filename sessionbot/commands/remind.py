"""`sessionbot remind ID [--user U]`: a reminder to the participant now, on their channel
(at most one in ten minutes)."""

from __future__ import annotations

import argparse

from ground.settings import Settings
from sessionbot.commands import add_clinician

NAME = "remind"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="remind the participant now (the worker sends it)")
    p.add_argument("id", help="the session id (`sessionbot sessions --json`)")
    add_clinician(p)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from scheduling.service import Actor
    from sessionbot.wiring import build

    done = build(settings).scheduler.remind(
        Actor(args.team, args.user, for_user=args.for_user), args.id
    )
    assert done is not None  # no idempotency key: never a repeat
    print(done.text)
    return 0 if done.changed else 1
