"""`sessionbot requests [--json] [--all]`, `sessionbot requests accept ID --time N`,
`sessionbot requests decline ID`: the participants' requests for another time, answered
as Slack's Accept and Decline answer them (scheduling/page_requests.py)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from ground.settings import Settings
from sessionbot.commands import add_clinician

NAME = "requests"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="participants' requests for another time; accept, decline")
    add_clinician(p)
    p.add_argument("--json", action="store_true", help="a JSON list of requests")
    p.add_argument("--all", action="store_true", help="answered ones too")
    answers = p.add_subparsers(dest="answer")
    accept = answers.add_parser("accept", help="move the session to one of the times")
    accept.add_argument("id", type=int, help="the request id (`sessionbot requests`)")
    accept.add_argument("--time", type=int, required=True, help="which time: 1, 2 or 3")
    decline = answers.add_parser("decline", help="keep the session; the participant is told")
    decline.add_argument("id", type=int, help="the request id (`sessionbot requests`)")
    for answer in (accept, decline):  # after the answer too; its default is the parent's
        answer.add_argument("--user", default=argparse.SUPPRESS, help="clinician id")
        answer.add_argument("--team", default=argparse.SUPPRESS, help="Slack workspace id")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ground.formatting import when
    from scheduling.service import Actor
    from sessionbot.wiring import build

    scheduler = build(settings).scheduler
    who = Actor(args.team, args.user, for_user=args.for_user)
    if args.answer in ("accept", "decline"):
        done = (
            scheduler.accept_request(who, args.id, args.time)
            if args.answer == "accept"
            else scheduler.decline_request(who, args.id)
        )
        assert done is not None  # no idempotency key: never a repeat
        print(done.text)
        return 0 if done.changed else 1
    found, zone = scheduler.requests(who, everything=args.all)
    if args.json:
        records = [
            {
                "id": r.id,
                "session": r.session,
                "participant": r.participant,
                "start": _iso(r.current_start),
                "times": [_iso(t) for t in r.times],
                "participant_tz": r.participant_tz,
                "status": r.status,
                "created_at": _iso(r.created_at),
            }
            for r in found
        ]
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not found:
        print("No open requests.")
        return 0
    for r in found:
        print(f"Request {r.id} [{r.status}]: {r.participant}, now {when(r.current_start, zone)}")
        for number, start in enumerate(r.times, start=1):
            theirs = ""
            if r.participant_tz != zone:
                theirs = f" ({when(start, r.participant_tz)} theirs)"
            print(f"    {number}. {when(start, zone)}{theirs}")
    return 0
