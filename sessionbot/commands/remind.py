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
    from datetime import UTC, datetime

    from scheduling import commands
    from sessionbot.wiring import build
    from store import repos

    parts = build(settings)
    with parts.store.unit() as s:
        clinician = repos.get_clinician(s, args.team, args.user)
        done = commands.remind_now(s, clinician, args.id, parts.practice, datetime.now(UTC))
    print(done.text)
    return 0 if done.changed else 1
