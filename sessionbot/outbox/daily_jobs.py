"""The jobs a worker does each round before sending: the clinicians' morning agendas and
nudges, the practice's retention once a day, the refunds of paid cancellations left to make."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

from sessionbot import refunds
from sessionbot.outbox.base import WorkerBase
from store.crypto import UndecryptableError

log = logging.getLogger("sessionbot.outbox")


class DailyJobs(WorkerBase):
    """What each round does before sending: agendas and nudges, retention, refunds."""

    def settle_refunds(self) -> int:
        """Make the refunds chosen with a cancellation and not made yet (a face that
        stopped before Stripe answered, or one that had no Stripe): each outcome DM'd."""
        return refunds.settle_pending(self.scheduler, self.payments, datetime.now(UTC))

    def plan_day(self) -> int:
        """Queue the clinicians' morning agendas and pre-session nudges due now.

        A session under a key this worker lacks holds the agendas back (logged), never
        the messages."""
        try:
            return self.scheduler.plan_day(datetime.now(UTC))
        except UndecryptableError:
            log.warning("agendas not planned: a session is under a key this worker lacks")
            return 0

    def apply_retention(self) -> Counter[str] | None:
        """The practice's retention, once a day across every worker (the first to see
        the day does it); None when it was done today already."""
        now = datetime.now(UTC)
        day = now.date().isoformat()
        if self._retained_on == day:
            return None
        counts = self.scheduler.apply_retention(now, once=f"retention:{day}")
        self._retained_on = day
        if counts is not None:
            log.info("retention: %s", ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
        return counts
