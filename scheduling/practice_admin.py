"""What an admin of a practice reads and does from Slack (issue 20): the roles held in
their practice, granting and revoking (scheduling/roles.py), and the audit trail of
their practice, read as lines with no participant data (there is none in the trail).

An admin is checked in the same unit as the read; anyone else is refused in words and
the refusal is audited. Reading the trail is itself recorded (`audit_read`): who looked
at the record of who did what is part of that record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from scheduling.roles import Refused
from store import audit, roles, session_rows

TRAIL_SHOWN = 40  # the newest lines a Slack modal shows (its 100 blocks, 3,000 characters)


@dataclass(frozen=True)
class AuditLine:
    """One audit row as the faces show it: ids and names of fields, never a value."""

    seq: int
    at: datetime
    actor: str  # "T:U", "participant", "system"
    action: str
    session: str | None  # the session's public id
    contact_id: int | None
    for_clinician: str | None  # "T:U"
    fields: tuple[str, ...]
    hash: str


@dataclass(frozen=True)
class Holding:
    """A role someone holds in the practice (over one clinician; an admin's over all)."""

    user: str
    role: str
    clinician: str | None


def holdings(s: Session, team: str, by: str) -> list[Holding]:
    """The roles held in `team`, for its admin `by` (else `Refused`, audited)."""
    require_admin(s, team, by)
    return [Holding(h.user, h.role, h.clinician) for h in roles.held(s, team)]


def require_admin(s: Session, team: str, user: str) -> None:
    """Raise `Refused` (its audit row in `s`) unless `user` is an admin of `team`."""
    if not roles.is_admin(s, team, user):
        audit.record(s, actor=audit.staff(team, user), action="refused")
        raise Refused("Only an admin of the practice can see its roles and its audit trail.")


def trail(
    s: Session,
    *,
    team: str | None,
    by: str | None,
    session: str | None = None,
    user: str | None = None,
    since: datetime | None = None,
    limit: int = 10_000,
    newest: bool = False,
) -> list[AuditLine] | None:
    """The audit lines (of one practice when `team`), filtered by a session's public id,
    a user, a time; None when no such session (in that practice). `by`: the admin
    reading, checked and recorded; None: the command line's operator."""
    if by is not None and team is not None:
        require_admin(s, team, by)
    session_id = None
    if session:
        found = session_rows.session_by_public_id(s, session)
        if found is None or (team is not None and found.clinician.team_id != team):
            return None
        session_id = found.id
    if user and team is not None and ":" not in user:
        user = audit.staff(team, user)
    rows = audit.rows(
        s, session_id=session_id, user=user, since=since, team=team, limit=limit, newest=newest
    )
    public = audit.public_ids(s, {r.session_id for r in rows if r.session_id})
    if by is not None and team is not None:
        audit.record(s, actor=audit.staff(team, by), action="audit_read", session_id=session_id)
    return [
        AuditLine(
            r.seq,
            r.at,
            r.actor,
            r.action,
            public.get(r.session_id) if r.session_id else None,
            r.contact_id,
            r.for_clinician,
            tuple(r.fields.split(",")) if r.fields else (),
            r.hash,
        )
        for r in rows
    ]
