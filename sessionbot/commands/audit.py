"""`sessionbot audit [--session ID] [--user U] [--since ISO] [--json]`: the audit trail,
for the compliance officer; `sessionbot audit verify`: whether the hash chain is intact
("intact (N rows)"), else the first row that does not match (exit 1)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TypedDict

from ground.settings import Settings
from scheduling.practice_admin import AuditLine

NAME = "audit"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="the audit trail (who changed or saw what, when); `verify`")
    p.add_argument("what", nargs="?", choices=["verify"], help="verify: check the hash chain")
    p.add_argument("--session", help="one session's rows (its id, `sessionbot sessions --json`)")
    p.add_argument("--user", help="rows by or for this Slack user (U or T:U)")
    p.add_argument("--since", type=_since, help="rows from this time on (ISO 8601; UTC if no zone)")
    p.add_argument("--json", action="store_true", help="JSON, one list")


def _since(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from sessionbot.wiring import build

    parts = build(settings)
    try:
        if args.what == "verify":
            verdict = parts.scheduler.verify_audit()
            if verdict.intact:
                print(f"intact ({verdict.rows} rows)")
                return 0
            print(
                f"broken: audit row {verdict.broken} {verdict.why} "
                f"({verdict.rows} rows before it match)",
                file=sys.stderr,
            )
            return 1
        lines = parts.scheduler.audit_trail(session=args.session, user=args.user, since=args.since)
    finally:
        parts.store.dispose()
    if lines is None:
        print(f"sessionbot audit: no session {args.session}", file=sys.stderr)
        return 1
    records = [_record(x) for x in lines]
    if args.json:
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not records:
        print("No audit rows.")
    for r in records:
        what = [f"session {r['session']}" if r["session"] else "", f"contact {r['contact_id']}"
                if r["contact_id"] else "", f"for {r['for']}" if r["for"] else "",
                f"fields {','.join(r['fields'])}" if r["fields"] else ""]  # fmt: skip
        print(f"{r['seq']:>6}  {r['at']}  {r['actor']:<22} {r['action']:<22} " + "  ".join(
            x for x in what if x
        ))  # fmt: skip
    return 0


AuditRecord = TypedDict(
    "AuditRecord",
    {
        "seq": int,
        "at": str,  # ISO 8601, UTC
        "actor": str,
        "action": str,
        "session": str | None,
        "contact_id": int | None,
        "for": str | None,
        "fields": list[str],
        "hash": str,
    },
)


def _record(line: AuditLine) -> AuditRecord:
    return {
        "seq": line.seq,
        "at": line.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "actor": line.actor,
        "action": line.action,
        "session": line.session,
        "contact_id": line.contact_id,
        "for": line.for_clinician,
        "fields": list(line.fields),
        "hash": line.hash,
    }
