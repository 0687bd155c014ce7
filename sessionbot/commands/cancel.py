"""`sessionbot cancel ID [--series] [--refund full|none|less-fee] [--user U]`: cancel a
session (with `--series`, it and the following occurrences of its series); an invited
participant is told. A paid session needs `--refund`: the whole payment back, nothing, or
(a late cancellation, when the practice sets a fee) the payment less the fee; the refund is
made through Stripe at once and its outcome said. `--retry-refund`: try a refused refund
again.

Exit status: 0 done (or already done), 1 not found or nothing changed, 2 a paid session
without `--refund` (nothing changed), 3 cancelled but Stripe refused the refund (it shows
as failed on the dashboard; `--retry-refund` tries again)."""

from __future__ import annotations

import argparse

from ground.settings import Settings
from sessionbot.commands import add_clinician

NAME = "cancel"
NEEDS_CHOICE, REFUND_FAILED = 2, 3


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="cancel a session (the participant gets a notice)")
    p.add_argument("id", help="the session id (`sessionbot sessions --json`)")
    p.add_argument(
        "--series", action="store_true", help="also cancel the following sessions of its series"
    )
    p.add_argument(
        "--refund",
        choices=("full", "none", "less-fee"),
        help="for a paid session: refund it in full, not at all, or less the practice's "
        "late-cancellation fee (a late cancellation only)",
    )
    p.add_argument(
        "--retry-refund",
        action="store_true",
        help="try again a refund that Stripe refused (the session stays cancelled)",
    )
    add_clinician(p)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from integrations.providers import payments
    from scheduling import refunds
    from scheduling.service import Actor
    from sessionbot import refunds as making
    from sessionbot.wiring import build

    parts = build(settings)
    scheduler, who, now = (
        parts.scheduler,
        Actor(args.team, args.user, for_user=args.for_user),
        datetime.now(UTC),
    )
    if args.retry_refund:
        why = scheduler.retry_refund(who, args.id)
        if why is not None:
            print(why)
            return 1
        settled = making.settle(parts.scheduler, payments(settings), args.id, now)
        print(settled.text)
        return REFUND_FAILED if settled.failed else 0
    choice = refunds.read_choice(args.refund)
    done = scheduler.cancel(who, args.id, series=args.series, refund=choice)
    assert done is not None  # no idempotency key: never a repeat
    state = scheduler.refund_state(who, args.id)
    if state is not None and state.asks and not done.changed:
        print(f"{done.text} Run again with --refund full|none|less-fee.")
        return NEEDS_CHOICE
    if state is None or not state.state:
        print(done.text)
        return 0 if done.found else 1
    if not done.changed:  # done before: where its refund stands, nothing made again
        print(f"{done.text} {state.words}")
        return REFUND_FAILED if state.state == refunds.FAILED else 0
    settled = making.settle(parts.scheduler, payments(settings), args.id, now)
    kept = state.state == refunds.KEPT
    print(done.text if kept else f"{done.text} {settled.text}")
    return REFUND_FAILED if settled.failed else 0
