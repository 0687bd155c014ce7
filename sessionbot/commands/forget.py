"""`sessionbot forget --phone P | --email E | --contact ID [--team T --user U]
[--cancel-upcoming]`: erase a participant's name, e-mail and phone wherever they are
stored (scheduling/erasure.py says where and what stays); refused while they have upcoming
sessions unless `--cancel-upcoming` (then they are told once, as for any cancellation).
Prints counts only; one audit row records the erasure."""

from __future__ import annotations

import argparse
import sys

from ground.settings import Settings

NAME = "forget"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="erase a participant's data (a request to be forgotten)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--phone", help="their phone number (any format)")
    who.add_argument("--email", help="their e-mail address")
    who.add_argument("--contact", type=int, help="a contact's id")
    p.add_argument("--team", help="only this clinician's (with --user): Slack workspace id")
    p.add_argument("--user", help="only this clinician's (with --team): Slack user id")
    p.add_argument(
        "--cancel-upcoming",
        action="store_true",
        help="cancel their upcoming sessions (they are told) instead of refusing",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from actions.extraction import ExtractionError
    from actions.extraction.phones import parse_phone
    from sessionbot.wiring import build

    if (args.team is None) != (args.user is None):
        print("sessionbot forget: give --team and --user together", file=sys.stderr)
        return 2
    parts = build(settings)
    phone = None
    if args.phone:
        try:
            phone = parse_phone(args.phone, parts.practice.default_region)
        except ExtractionError:
            print("sessionbot forget: that is not a phone number", file=sys.stderr)
            return 2
    done = parts.scheduler.forget(
        datetime.now(UTC),
        phone=phone,
        email=args.email,
        contact_id=args.contact,
        team=args.team,
        user=args.user,
        cancel_upcoming=args.cancel_upcoming,
    )
    if done is None:
        print("sessionbot forget: no such clinician; nothing was erased", file=sys.stderr)
        return 1
    if done.nobody:
        print("No one was found with that; nothing was erased.")
        return 1
    if done.refused:
        ids = ", ".join(x.public_id for x in done.refused)
        print(
            f"Nothing was erased: they have {len(done.refused)} upcoming session(s) ({ids}). "
            "Cancel them first, or run again with --cancel-upcoming (they are told once, "
            "as for any cancellation).",
            file=sys.stderr,
        )
        return 1
    for what, count in sorted(done.counts.items()):
        print(f"{what}: {count}")
    print("Erased: their name, e-mail and phone are gone; the audit keeps that it was done.")
    return 0
