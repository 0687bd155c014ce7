"""`sessionbot cancel ID [--series] [--user U]`: cancel a session (with `--series`, it and
the following occurrences of its series); an invited participant is told."""

from __future__ import annotations

import argparse

from ground.settings import Settings
from sessionbot.commands import add_clinician

NAME = "cancel"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="cancel a session (the participant gets a notice)")
    p.add_argument("id", help="the session id (`sessionbot sessions --json`)")
    p.add_argument(
        "--series", action="store_true", help="also cancel the following sessions of its series"
    )
    add_clinician(p)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from scheduling.service import Actor
    from sessionbot.wiring import build

    done = build(settings).scheduler.cancel(
        Actor(args.team, args.user), args.id, series=args.series
    )
    assert done is not None  # no idempotency key: never a repeat
    print(done.text)
    return 0 if done.found else 1
