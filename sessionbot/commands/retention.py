"""`sessionbot retention run`: apply the practice's retention now (the worker does it once
a day): participant data `retention_days` after a session ends; Slack inbox bodies and
conversation drafts after `inbox_retention_days`. Prints counts only."""

from __future__ import annotations

import argparse

from ground.settings import Settings

NAME = "retention"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="erase the data the practice keeps no longer")
    what = p.add_subparsers(dest="retention_action", required=True)
    what.add_parser("run", help="apply retention_days and inbox_retention_days now")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from sessionbot.wiring import build

    parts = build(settings)
    counts = parts.scheduler.apply_retention(datetime.now(UTC))
    assert counts is not None  # no once-key: always applied
    practice = parts.practice
    print(
        f"retention: participant data {practice.retention_days} days after a session ends; "
        f"inbox and drafts {practice.inbox_retention_days} days"
    )
    for what, count in sorted(counts.items()):
        print(f"{what}: {count}")
    return 0
