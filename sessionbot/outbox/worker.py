"""The outbox worker's loop: claimed messages sent side by side in their channels' lanes
(bounded and rate-limited, sessionbot/sending.py), one person's messages in order, the
lease renewed by a heartbeat meanwhile; a stop finishes the sends begun and gives the rest
back."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from functools import partial

from ground.logs import request_context
from sessionbot.outbox.claims import Claims
from sessionbot.outbox.daily_jobs import DailyJobs
from sessionbot.outbox.delivering import Delivering
from sessionbot.outbox.preparing import Outgoing
from sessionbot.sending import Heartbeat


@dataclass
class Stats:
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    @property
    def handled(self) -> int:
        return sum(self.counts.values())


class Worker(Claims, Delivering, DailyJobs):
    """The outbox worker: its steps put together, and the loop that runs them."""

    def run_once(self, stop: threading.Event | None = None) -> Stats:
        """Send everything due now (including notices queued on the way), then return.

        Claimed messages go to their channel's lane and are sent concurrently (bounded per
        channel, sessionbot/sending.py); more are claimed as the lanes free up. With `stop`
        set meanwhile, it returns once the sends already begun are finished, and gives
        the rest of what it claimed back at once (no waiting for the lease).
        """
        try:
            with Heartbeat(self.lease.total_seconds() / 4, self.renew, name="outbox-heartbeat"):
                return self._run_once(stop)
        finally:  # what is still held (a failure half-way) lapses with its lease
            with self._held_lock:
                self.held.clear()

    def _run_once(self, stop: threading.Event | None) -> Stats:
        stats = Stats()
        self.plan_day()
        self.apply_retention()
        self.settle_refunds()  # first: a cancellation notice says what was refunded
        inflight: dict[Future[str | None], Outgoing] = {}
        held: list[Outgoing] = []  # waiting for an earlier message to the same person
        busy: set[str] = set()
        unsent: list[int] = []

        def start(item: Outgoing) -> None:
            if item.order_key in busy:
                held.append(item)
                return
            busy.add(item.order_key)
            future = self.lanes.submit(item.channel, partial(self._send_in_lane, item, stop))
            inflight[future] = item

        def finished(future: Future[str | None]) -> None:
            item = inflight.pop(future)
            busy.discard(item.order_key)
            outcome = future.result()  # the database gone: raised here, stops all
            self._let_go([item.id])
            if outcome is None:
                unsent.append(item.id)
            else:
                stats.add(outcome)
            waiting = next((x for x in held if x.order_key == item.order_key), None)
            if waiting is not None and not (stop and stop.is_set()):
                held.remove(waiting)
                start(waiting)

        try:
            while not (stop and stop.is_set()):
                if len(inflight) + len(held) <= self.batch // 2:
                    batch = self.claim_prepared(self.batch - len(inflight) - len(held))
                    if not batch and not inflight:
                        break
                    self._hold([x.id for x in batch if isinstance(x, Outgoing)])
                    for item in batch:
                        if isinstance(item, str):
                            stats.add(item)
                        else:
                            start(item)
                    if not inflight:
                        continue
                done, _ = wait(inflight, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    finished(future)
        finally:
            # Stopping (or failing): what has not begun is not begun; what has, finishes.
            unsent.extend(x.id for x in held)
            for future in list(inflight):
                if future.cancel():
                    unsent.append(inflight.pop(future).id)
            if inflight:
                wait(inflight)
            for future, item in inflight.items():
                self._let_go([item.id])
                if future.exception() is None:
                    outcome = future.result()
                    if outcome is None:
                        unsent.append(item.id)
                    else:
                        stats.add(outcome)
        self.release(unsent)
        return stats

    def _send_in_lane(self, item: Outgoing, stop: threading.Event | None) -> str | None:
        """In the channel's lane: wait out a pause of the channel, then deliver. None: not
        begun because of a stop (the message is given back)."""
        self.lanes.throttle(item.channel).wait(stop)
        if stop is not None and stop.is_set():
            return None
        with request_context(f"outbox-{item.id}"):  # its lines, searchable together
            return self.deliver(item)

    def run_forever(self, stop: threading.Event, poll: float = 2.0) -> Stats:
        total = Stats()
        try:
            while not stop.is_set():
                stats = self.run_once(stop)
                total.counts.update(stats.counts)
                if not stats.handled:
                    stop.wait(poll)
        finally:
            self.close()
        return total

    def close(self) -> None:
        """Stop the sending threads and let go of kept connections (the SMTP sessions)."""
        self.lanes.shutdown()
        for sender in (self.senders.mail, self.senders.sms, self.senders.slack):
            close = getattr(sender, "close", None)
            if close is not None:
                close()
