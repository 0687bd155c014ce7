"""Claiming due rows under a short lease (SKIP LOCKED on PostgreSQL), renewing the lease
of the rows still held (the heartbeat's beat), giving unsent rows back on a stop."""

from __future__ import annotations

from datetime import UTC, datetime

from sessionbot.outbox.preparing import Outgoing, Preparing, _of_a_session, _read_batch
from store import outbox_rows


class Claims(Preparing):
    """Claim due rows under a lease, keep the lease while held, give rows back."""

    def _hold(self, ids: list[int]) -> None:
        with self._held_lock:
            self.held.update(ids)

    def _let_go(self, ids: list[int]) -> None:
        with self._held_lock:
            self.held.difference_update(ids)

    def renew(self) -> int:
        """Extend the lease of the rows this worker still holds (the heartbeat's beat)."""
        with self._held_lock:
            ids = sorted(self.held)
        if not ids:
            return 0
        with self.store.unit() as s:
            return outbox_rows.renew_claims(s, ids, self.worker_id, datetime.now(UTC) + self.lease)

    def claim(self) -> list[int]:
        """Claim due messages without preparing them (their ids, for `process`)."""
        now = datetime.now(UTC)
        with self.store.unit() as s:
            rows = outbox_rows.claim_due(s, self.worker_id, now, now + self.lease, self.batch)
            return [row.id for row in rows]

    def claim_prepared(self, limit: int | None = None) -> list[Outgoing | str]:
        """Claim a batch and prepare every send in the same transaction.

        The batch's sessions, clinicians, opt-outs and notices' text are read with one
        query each; a message's own cost before it is sent is its savepoint (SAVEPOINT
        and RELEASE), so one that cannot be prepared fails alone.
        """
        now = datetime.now(UTC)
        with self.store.unit() as s:
            rows = outbox_rows.claim_due(
                s, self.worker_id, now, now + self.lease, limit or self.batch
            )
            if not rows:
                return []
            batch = _read_batch(
                s, {r.session_id for r in rows if r.session_id and _of_a_session(r)}
            )
            notices = [r.id for r in rows if r.kind == "clinician_notice"]
            batch.payloads = outbox_rows.outbox_payloads(s, notices)
            prepared = [self._prepare_one(s, row, now, batch) for row in rows]
        for row, item in zip(rows, prepared, strict=True):
            if isinstance(item, Outgoing):
                item.order_key = (
                    f"session:{row.session_id}"
                    if _of_a_session(row)
                    else f"clinician:{row.clinician_id}"
                )
        return prepared

    def release(self, message_ids: list[int]) -> None:
        """Give claimed, unsent messages back (a stop in the middle of a batch)."""
        if message_ids:
            with self.store.unit() as s:
                outbox_rows.release_claims(s, message_ids, self.worker_id)
            self._let_go(message_ids)
