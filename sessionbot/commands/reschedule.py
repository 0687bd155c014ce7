"""`sessionbot reschedule ID --to ISO [--user U]`: move a session; the participant is told."""

from __future__ import annotations

import argparse

from sessionbot.settings import Settings

NAME = "reschedule"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from sessionbot.cli import DEFAULT_USER, LOCAL_TEAM

    p = sub.add_parser(NAME, help="move a session (update sent, reminders replanned)")
    p.add_argument("id", help="the session id (`sessionbot sessions --json`)")
    p.add_argument("--to", required=True, help="new start, ISO 8601 (no offset: your zone)")
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument("--team", default=LOCAL_TEAM, help=argparse.SUPPRESS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from actions import booking
    from actions.formatting import when
    from sessionbot.wiring import build
    from store import repos

    parts = build(settings)
    try:
        new_start = datetime.fromisoformat(args.to)
    except ValueError:
        print(f"Not an ISO 8601 time: {args.to!r}")
        return 2
    with parts.store.unit() as s:
        clinician = repos.get_clinician(s, args.team, args.user)
        zone = clinician.tz or parts.practice.default_timezone
        if new_start.tzinfo is None:
            new_start = new_start.replace(tzinfo=ZoneInfo(zone))
        session = repos.session_for_clinician(s, clinician.id, args.id, lock=True)
        if session is None or session.status == "cancelled":
            print(f"No scheduled session {args.id} of yours.")
            return 1
        try:
            booking.reschedule(s, session, new_start, parts.practice, datetime.now(UTC))
        except ValueError as exc:
            print(f"Not moved: {exc}.")
            return 1
    print(f"Moved to {when(new_start, zone)}.")
    return 0
