"""`sessionbot roles grant|revoke|list`: who in a practice books for, or reads the
sessions of, which clinician (scheduling/roles.py).

    sessionbot roles grant --team T --user U --role scheduler --clinician C [--clinician C2]
    sessionbot roles revoke --team T --user U --role scheduler [--clinician C]
    sessionbot roles list [--team T] [--json]

The command line is the operator (trusted): it may grant any role; each grant and
revocation is one audit row (`role_granted`, `role_revoked`)."""

from __future__ import annotations

import argparse
import json
import sys

from ground.settings import Settings
from sessionbot.commands import LOCAL_TEAM

NAME = "roles"
ROLE_NAMES = ("admin", "scheduler", "supervisor")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="staff roles: schedulers, supervisors, admins")
    p.add_argument(
        "what", choices=["grant", "revoke", "list"], help="grant a role, revoke one, or list them"
    )
    p.add_argument(
        "--team", default=None, help=f"Slack workspace id (grant/revoke: default {LOCAL_TEAM})"
    )
    p.add_argument("--user", help="the staff member's user id (grant, revoke)")
    p.add_argument("--role", choices=ROLE_NAMES, help="the role (grant, revoke)")
    p.add_argument(
        "--clinician",
        action="append",
        default=[],
        help="a clinician the scheduler or supervisor is assigned to (repeat for more); "
        "revoke without it takes the role over every clinician",
    )
    p.add_argument("--json", action="store_true", help="list: a JSON list")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from sessionbot.wiring import build

    scheduler = build(settings).scheduler
    if args.what == "list":
        held = scheduler.roles_held(args.team)
        records = [
            {"team": h.team, "user": h.user, "role": h.role, "clinician": h.clinician} for h in held
        ]
        if args.json:
            json.dump(records, sys.stdout, indent=2)
            sys.stdout.write("\n")
        elif not records:
            print("No roles granted.")
        for r in [] if args.json else records:
            over = f" for {r['clinician']}" if r["clinician"] else ""
            print(f"{r['team']}  {r['user']}  {r['role']}{over}")
        return 0
    if not args.user or not args.role:
        print(f"sessionbot roles {args.what}: give --user and --role", file=sys.stderr)
        return 2
    team = args.team or LOCAL_TEAM
    if args.what == "grant":
        if args.role != "admin" and not args.clinician:
            print(
                f"sessionbot roles grant: a {args.role} is assigned to clinicians: "
                "give --clinician C",
                file=sys.stderr,
            )
            return 2
        done = scheduler.grant_role(team, args.user, args.role, args.clinician)
        print("\n".join(done) if done else f"{args.user} already had that role; nothing changed.")
        return 0
    taken = scheduler.revoke_role(team, args.user, args.role, args.clinician)
    if not taken:
        print(f"{args.user} did not have that role; nothing changed.")
        return 1
    print(f"Revoked: {args.user} is no longer {args.role}" + (
        f" for {', '.join(args.clinician)}." if args.clinician else "."
    ))  # fmt: skip
    return 0
