"""The outbox worker: claim due messages, send them outside any transaction, record how it went.

Each message goes through three short steps: claim (one transaction, many rows, SKIP
LOCKED on PostgreSQL), send (no transaction open), finish (one transaction: sent, retry
later with backoff and jitter, or failed with a DM to the clinician saying what to fix).
A worker killed between send and finish leaves the row `sending`; when its lease runs out
another worker sends it again, so that one message can arrive twice (README).

The lease is short (`SESSIONBOT_OUTBOX_LEASE`, 8 s) and a live worker renews it every
quarter of it for the rows it still holds (a heartbeat thread, `sessionbot/sending.py`):
a killed worker's claims are taken over within one lease, while a live one keeps its
claims however long its sends or a provider's 429 pause take.

Each row is prepared in a savepoint of its own: a row that cannot be prepared (its data
under a key this worker lacks, an address with a line break that no e-mail header can
hold) is marked failed with a fixed reason, its clinician is told, it is counted in
`sessionbot_outbox_failed_total`, and the rest of the batch goes on. Only what stops every
row (the database gone) stops the worker.

One job a module, each a part of `worker.Worker`: `base` (what a worker holds),
`claims` (claiming under a lease, renewing it, giving rows back), `preparing` (a row into
a send on its channel), `delivering` (the send and its record), `failing` (a row failed or
retried, its clinician told), `daily_jobs` (agendas, retention, refunds left to make) and
`worker` (the loop: the channels' lanes side by side, the heartbeat, a stop).
"""
