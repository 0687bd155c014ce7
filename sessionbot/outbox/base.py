"""What every part of the outbox worker holds: the store, the practice and settings, the
senders and their lanes, the lease and the rows held under it, the backoff between tries."""

from __future__ import annotations

import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from ground.practice import Practice
from ground.settings import Settings
from integrations.payments import Payments
from integrations.providers import Senders
from integrations.slack_notify import token_hash
from scheduling.service import Scheduler
from sessionbot.sending import Lanes, Limits, per_thread
from store.db import Store
from store.grouped import GroupedWrites

SESSION_KINDS = ("invitation", "update", "cancellation", "reminder", "declined")
INVITE_KINDS = ("invitation", "update")


@dataclass(frozen=True)
class Retry:
    """Exponential backoff with jitter: base * 2^(attempt-1), capped, times 0.5..1.5."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 12

    def delay(self, attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
        raw = min(self.cap, self.base * (2 ** max(0, attempts - 1)))
        return raw * (0.5 + rand())


class WorkerBase:
    """A worker's configuration and state, shared by its parts (sessionbot/outbox/)."""

    def __init__(
        self,
        store: Store,
        practice: Practice,
        settings: Settings,
        senders: Senders,
        *,
        worker_id: str | None = None,
        batch: int | None = None,
        lease: timedelta | None = None,
        retry: Retry = Retry(),
        limits: Limits | None = None,
        payments: Payments | None = None,
    ) -> None:
        self.store = store
        # The rules a round applies (agendas, retention, refunds) go through the service.
        self.scheduler = Scheduler(store, practice, settings.public_url)
        self.payments = payments  # paid cancellations' refunds left to make (`settle_refunds`)
        self.practice = practice
        self.settings = settings
        self.limits = limits or Limits(
            sms=settings.worker_sms_concurrency,
            email=settings.worker_email_concurrency,
            slack=settings.worker_slack_concurrency,
            sms_rate=settings.worker_sms_rate,
            email_rate=settings.worker_email_rate,
            slack_rate=settings.worker_slack_rate,
        )
        # Senders that keep a connection (SMTP) get one per sending thread.
        self.senders = per_thread(senders)
        self.lanes = Lanes(self.limits)
        # What the sending threads record of each send, committed in groups (one lock of
        # the audit chain's head a group, not a send: store/grouped.py).
        self.records = GroupedWrites(store)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # Rows claimed and not yet done: as many as the lanes send at once. A batch of
        # one channel may wait several rounds of sends plus a 429 pause (at most 60 s),
        # longer than the lease: the heartbeat renews the claims it still holds.
        self.batch = batch or self.limits.total
        self.lease = lease or timedelta(seconds=settings.outbox_lease_seconds)
        self._retained_on: str | None = None  # the day (UTC) retention was applied
        self.held: set[int] = set()  # claimed by `run_once`, not yet recorded or given back
        self._held_lock = threading.Lock()
        self.retry = retry
        # Single-workspace mode: which bot token is in use (a revoked one is not used).
        self._slack_token_hash = (
            None if settings.slack_client_id else token_hash(settings.slack_bot_token)
        )
