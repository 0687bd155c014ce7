"""`sessionbot cancel ID [--user U]`: cancel a session; an invited participant is told."""

from __future__ import annotations

import argparse

from sessionbot.commands import add_clinician
from sessionbot.settings import Settings

NAME = "cancel"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="cancel a session (the participant gets a notice)")
    p.add_argument("id", help="the session id (`sessionbot sessions --json`)")
    add_clinician(p)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from actions import commands
    from sessionbot.wiring import build
    from store import repos

    parts = build(settings)
    with parts.store.unit() as s:
        clinician = repos.get_clinician(s, args.team, args.user)
        done = commands.cancel(s, clinician, args.id, parts.practice, datetime.now(UTC))
    print(done.text)
    return 0 if done.found else 1
