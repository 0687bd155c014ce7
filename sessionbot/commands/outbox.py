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

    scheduler = build(settings).scheduler
    what: dict[str, str] = {c: a.setup for c, a in providers.local().adapters.items()}
    what["slack"] = "Slack (SLACK_BOT_TOKEN)"
    lines = scheduler.outbox_lines(None if args.all else (LOCAL_STATUS,))
    if not lines:
        print("The local outbox is empty.")
        return 0
    for line in lines:
        when = line.at.isoformat(timespec="seconds")
        if line.status == LOCAL_STATUS:
            print(f"===== {LABEL.format(what=what.get(line.channel, line.channel))} =====")
            print(f"#{line.id} {line.kind} by {line.channel}, {when}")
            print(line.payload or "")
        else:
            error = f"  ({line.last_error})" if line.last_error else ""
            print(f"#{line.id} {line.kind} by {line.channel}, {when}: {line.status}{error}")
    return 0
