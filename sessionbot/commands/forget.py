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
    from scheduling import erasure
    from sessionbot.wiring import build
    from store import audit, clinician_rows

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
    now = datetime.now(UTC)
    with parts.store.unit() as s:
        clinician_id = None
        actor = audit.SYSTEM
        if args.team is not None:
            clinician = clinician_rows.find_clinician(s, args.team, args.user)
            if clinician is None:
                print("sessionbot forget: no such clinician; nothing was erased", file=sys.stderr)
                return 1
            clinician_id, actor = clinician.id, audit.staff(args.team, args.user)
        found = erasure.find(
            s, phone=phone, email=args.email, contact_id=args.contact, clinician_id=clinician_id
        )
        if not found.anything:
            print("No one was found with that; nothing was erased.")
            return 1
        done = erasure.forget(
            s, found, parts.practice, now, actor=actor, cancel_upcoming=args.cancel_upcoming
        )
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
