"""The audit trail: one append-only row per change or disclosure, hash-chained.

`record(s, actor=..., action=...)` in the unit of work that makes the change: the row is
written when that unit commits (and never when it rolls back), so a change and its row
stand or fall together. Writing at commit also makes the chain's lock (the `audit_head`
row, FOR UPDATE on PostgreSQL; SQLite's one writer) the last lock a unit takes and the
shortest held: no unit waits on it while holding a session it locked later.

A row holds the time, the actor ("T:U", "participant" or "system"), the action, the
session or contact id, the clinician acted for and the NAMES of the fields changed.
`record` refuses anything else (free text, a value): no participant's name, e-mail or
phone, and none of the clinician's words, can reach the table.

Each row's `hash` is SHA-256 over its canonical content and the previous row's hash;
`verify` walks the chain and names the first row that does not match.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, event, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, SessionTransaction

from store.models import AuditHead, AuditRow, Clinician, Contact, ScheduledSession, utcnow

GENESIS = "0" * 64
SYSTEM = "system"
PARTICIPANT = "participant"
_PENDING = "audit_pending"
_ACTOR_OVERRIDE = "audit_actor"

_STAFF = re.compile(r"[A-Za-z0-9_.-]{1,38}:[A-Za-z0-9_.-]{1,38}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class Entry:
    """One row's content, as hashed."""

    at: datetime
    actor: str
    action: str
    session_id: int | None
    contact_id: int | None
    for_clinician: str | None
    fields: str | None


def staff(team_id: str, user_id: str) -> str:
    return f"{team_id}:{user_id}"


def clinician_actor(s: Session, clinician: Clinician) -> str:
    """Who acts on this clinician's sessions in this unit: whoever `acting_as` named
    (a scheduler booking for them, `forget` run by the operator), else the clinician."""
    return str(s.info.get(_ACTOR_OVERRIDE) or staff(clinician.team_id, clinician.user_id))


def acting_as(s: Session, actor: str) -> None:
    """Make `actor` the actor of the clinician's changes recorded in this unit."""
    _check_actor(actor)
    s.info[_ACTOR_OVERRIDE] = actor


def record(
    s: Session,
    *,
    actor: str,
    action: str,
    session_id: int | None = None,
    contact_id: int | None = None,
    for_clinician: str | None = None,
    fields: Iterable[str] = (),
) -> None:
    """One audit row, written when this unit commits. Raises ValueError for an actor,
    action or field name that is not a plain identifier (free text never gets in)."""
    _check_actor(actor)
    if not _NAME.fullmatch(action):
        raise ValueError("an audit action is a plain name")
    if for_clinician is not None and not _STAFF.fullmatch(for_clinician):
        raise ValueError("the clinician acted for is a Slack identity T:U")
    names = sorted(set(fields))
    if any(not _NAME.fullmatch(n) for n in names):
        raise ValueError("audit fields are field names, never values")
    joined = ",".join(names) or None
    if joined is not None and len(joined) > 255:
        raise ValueError("too many audit fields")
    s.info.setdefault(_PENDING, []).append(
        Entry(utcnow(), actor, action, session_id, contact_id, for_clinician, joined)
    )


def session_event(
    s: Session, session: ScheduledSession, action: str, *, fields: Iterable[str] = ()
) -> None:
    """A clinician's change to their session (the actor as `clinician_actor` says)."""
    clinician = session.clinician
    record(
        s,
        actor=clinician_actor(s, clinician),
        action=action,
        session_id=session.id,
        for_clinician=staff(clinician.team_id, clinician.user_id),
        fields=fields,
    )


def _check_actor(actor: str) -> None:
    if actor not in (SYSTEM, PARTICIPANT) and not _STAFF.fullmatch(actor):
        raise ValueError("an audit actor is T:U, 'participant' or 'system'")


# The hash and the write ---------------------------------------------------------------


def canonical(seq: int, entry: Entry, prev_hash: str) -> bytes:
    at = entry.at.astimezone(UTC).isoformat(timespec="microseconds")
    content = [
        seq, at, entry.actor, entry.action, entry.session_id, entry.contact_id,
        entry.for_clinician, entry.fields, prev_hash,
    ]  # fmt: skip
    return json.dumps(content, separators=(",", ":")).encode()


def row_hash(seq: int, entry: Entry, prev_hash: str) -> str:
    return hashlib.sha256(canonical(seq, entry, prev_hash)).hexdigest()


def _head(s: Session) -> tuple[int, str]:
    """The chain's end, locked to the end of the unit (made when missing)."""
    query = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    found = s.execute(query).one_or_none()
    if found is None:
        try:
            with s.begin_nested():
                s.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
        except IntegrityError:  # made at the same moment by another process
            pass
        found = s.execute(query).one()
    return int(found[0]), str(found[1])


def _owners(s: Session, entries: list[Entry]) -> list[Entry]:
    """The clinician of every row about a session that names none (the worker's sends)."""
    wanted = {e.session_id for e in entries if e.session_id and e.for_clinician is None}
    if not wanted:
        return entries
    rows = s.execute(
        select(ScheduledSession.id, Clinician.team_id, Clinician.user_id)
        .join(Clinician, Clinician.id == ScheduledSession.clinician_id)
        .where(ScheduledSession.id.in_(wanted))
    )
    owner = {row[0]: staff(row[1], row[2]) for row in rows}
    return [
        Entry(
            e.at, e.actor, e.action, e.session_id, e.contact_id, owner.get(e.session_id), e.fields
        )
        if e.session_id in owner and e.for_clinician is None
        else e
        for e in entries
    ]


def write_pending(s: Session) -> int:
    """Chain and insert the rows recorded in this unit (at its commit); how many."""
    entries: list[Entry] = s.info.pop(_PENDING, None) or []
    if not entries:
        return 0
    entries = _owners(s, entries)
    seq, prev = _head(s)
    values = []
    for entry in entries:
        seq += 1
        digest = row_hash(seq, entry, prev)
        values.append(
            {
                "seq": seq,
                "at": entry.at,
                "actor": entry.actor,
                "action": entry.action,
                "session_id": entry.session_id,
                "contact_id": entry.contact_id,
                "for_clinician": entry.for_clinician,
                "fields": entry.fields,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    s.execute(insert(AuditRow), values)
    s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
    return len(values)


@event.listens_for(Session, "before_commit")
def _before_commit(s: Session) -> None:
    if s.info.get(_PENDING):
        write_pending(s)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(s: Session, previous: SessionTransaction) -> None:
    if not previous.nested:  # the unit rolled back: what it recorded did not happen
        s.info.pop(_PENDING, None)
        s.info.pop(_ACTOR_OVERRIDE, None)


@event.listens_for(Session, "after_transaction_end")
def _after_end(s: Session, transaction: SessionTransaction) -> None:
    # The unit's end only: a savepoint released inside it (a claim, a first-seen key)
    # fires "after_commit" too, and must not drop who acts for the rest of the unit.
    if transaction.parent is None:
        s.info.pop(_ACTOR_OVERRIDE, None)


# Reading and checking -----------------------------------------------------------------


def entry_of(row: AuditRow) -> Entry:
    return Entry(
        row.at, row.actor, row.action, row.session_id, row.contact_id, row.for_clinician, row.fields
    )


@dataclass(frozen=True)
class Verdict:
    """`broken`: the first row (its seq) that does not match, and why; None: intact."""

    rows: int
    broken: int | None = None
    why: str = ""

    @property
    def intact(self) -> bool:
        return self.broken is None


def _walk(s: Session, size: int = 1000) -> Iterator[AuditRow]:
    last = 0
    while True:
        rows = list(
            s.scalars(
                select(AuditRow).where(AuditRow.seq > last).order_by(AuditRow.seq).limit(size)
            )
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        s.expunge_all()


def verify(s: Session) -> Verdict:
    """Walk the chain from its start: each row's seq follows the last, its `prev_hash` is
    the last row's hash and its own hash is over what it holds; the head is the last."""
    expected_seq, prev, count = 1, GENESIS, 0
    for row in _walk(s):
        if row.seq != expected_seq:
            return Verdict(count, expected_seq, "is missing")
        if row.prev_hash != prev:
            return Verdict(count, row.seq, "does not follow the row before it")
        if row_hash(row.seq, entry_of(row), row.prev_hash) != row.hash:
            return Verdict(count, row.seq, "was changed after it was written")
        prev, expected_seq, count = row.hash, expected_seq + 1, count + 1
    head = s.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    head_seq, head_hash = (0, GENESIS) if head is None else (int(head[0]), str(head[1]))
    if (head_seq, head_hash) != (count, prev):
        return Verdict(count, count + 1, "is missing (rows were removed from the end)")
    return Verdict(count)


def rows(
    s: Session,
    *,
    session_id: int | None = None,
    user: str | None = None,
    since: datetime | None = None,
    team: str | None = None,
    limit: int = 10_000,
    newest: bool = False,
) -> list[AuditRow]:
    """Rows in order, filtered: a session; a user (as actor or as the clinician acted for:
    "U" or "T:U"); from a time on; one practice (`team`: its staff's rows, and the rows
    about its sessions and contacts, whoever the actor). `newest`: the last `limit` rows
    (still in order)."""
    query = select(AuditRow)
    if team is not None:
        query = query.where(_of_team(team))
    if session_id is not None:
        query = query.where(AuditRow.session_id == session_id)
    if since is not None:
        query = query.where(AuditRow.at >= since)
    if user is not None:
        query = query.where(or_(_is(AuditRow.actor, user), _is(AuditRow.for_clinician, user)))
    if newest:
        found = list(s.scalars(query.order_by(AuditRow.seq.desc()).limit(limit)))
        return found[::-1]
    return list(s.scalars(query.order_by(AuditRow.seq).limit(limit)))


def _of_team(team: str) -> ColumnElement[bool]:
    clinicians = select(Clinician.id).where(Clinician.team_id == team)
    return or_(
        AuditRow.actor.startswith(f"{team}:", autoescape=True),
        AuditRow.for_clinician.startswith(f"{team}:", autoescape=True),
        AuditRow.session_id.in_(
            select(ScheduledSession.id).where(ScheduledSession.clinician_id.in_(clinicians))
        ),
        AuditRow.contact_id.in_(select(Contact.id).where(Contact.clinician_id.in_(clinicians))),
    )


def _is(
    column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None], user: str
) -> ColumnElement[bool]:
    if ":" in user:
        return column == user
    return column.endswith(f":{user}", autoescape=True)


def public_ids(s: Session, session_ids: set[int]) -> dict[int, str]:
    """The public ids of these sessions (what `sessions --json` and the CLI call them)."""
    if not session_ids:
        return {}
    found = s.execute(
        select(ScheduledSession.id, ScheduledSession.public_id).where(
            ScheduledSession.id.in_(session_ids)
        )
    )
    return {int(row[0]): str(row[1]) for row in found}
