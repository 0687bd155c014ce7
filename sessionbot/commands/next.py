"""`sessionbot next ID [--weeks N] [--user U]`: the same session N weeks later (Schedule
Next); prints the new session's id."""

from __future__ import annotations

import argparse

from ground.settings import Settings
from sessionbot.commands import add_clinician

NAME = "next"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="book the same session N weeks later (invitation sent)")
    p.add_argument("id", help="the session id (`sessionbot sessions --json`)")
    p.add_argument("--weeks", type=int, default=1, help="how many weeks later (default 1)")
    add_clinician(p)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import uuid

    from scheduling.service import Actor
    from sessionbot.wiring import build

    done = build(settings).scheduler.schedule_next(
        Actor(args.team, args.user, for_user=args.for_user),
        args.id,
        args.weeks,
        draft_id=f"cli-next:{uuid.uuid4().hex}",
    )
    assert done is not None  # no idempotency key: never a repeat
    print(done.text)
    if done.new_id is None:
        return 1
    print(done.new_id)  # the last line: the new id, for a script
    return 0
