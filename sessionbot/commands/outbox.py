"""`sessionbot outbox`: what the worker sent or kept in the local outbox."""

from __future__ import annotations

import argparse

from ground.settings import Settings

NAME = "outbox"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="print the local outbox (messages not sent for want of setup)")
    p.add_argument("--all", action="store_true", help="every message and its status")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from integrations import providers
    from integrations.local_outbox import LABEL, LOCAL_STATUS
    from sessionbot.wiring import build
    from store import outbox_rows

    parts = build(settings)
    what: dict[str, str] = {c: a.setup for c, a in providers.local().adapters.items()}
    what["slack"] = "Slack (SLACK_BOT_TOKEN)"
    with parts.store.unit() as s:
        rows = outbox_rows.list_outbox(
            s, statuses=None if args.all else (LOCAL_STATUS,), limit=1000
        )
        if not rows:
            print("The local outbox is empty.")
            return 0
        for row in rows:
            when = (row.sent_at or row.due_at).isoformat(timespec="seconds")
            if row.status == LOCAL_STATUS:
                print(f"===== {LABEL.format(what=what.get(row.channel, row.channel))} =====")
                print(f"#{row.id} {row.kind} by {row.channel}, {when}")
                print(row.payload or "")
            else:
                error = f"  ({row.last_error})" if row.last_error else ""
                print(f"#{row.id} {row.kind} by {row.channel}, {when}: {row.status}{error}")
    return 0
