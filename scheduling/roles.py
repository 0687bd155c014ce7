"""Roles in a practice: who may act for, or read the sessions of, which clinician.

- admin: acts for any clinician of the practice, and grants and revokes roles;
- scheduler: books, moves, cancels and reminds for the clinicians assigned, and sees
  their dashboards;
- supervisor: reads the dashboards of the clinicians assigned (participants as initials,
  no contact details), changes nothing.

`permit` answers for one call of the scheduling service (scheduling/service.py `_acting`).
A refusal is a `Refused` whose words the faces show as they are, and it is audited
(`refused`, the staff member as actor, the clinician as the one acted for).
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from ground.formatting import initials, when
from store import audit, roles
from store.models import ScheduledSession

ADMIN, SCHEDULER, SUPERVISOR = roles.ADMIN, roles.SCHEDULER, roles.SUPERVISOR


class Refused(Exception):
    """A staff member asked for what their role does not allow; `words` say so."""

    def __init__(self, words: str) -> None:
        super().__init__(words)
        self.words = words


def role_for(s: Session, team: str, staff_user: str, clinician_user: str) -> str | None:
    """The strongest role `staff_user` holds over `clinician_user` (None: none)."""
    held = roles.over(s, team, staff_user, clinician_user)
    return next((role for role in (ADMIN, SCHEDULER, SUPERVISOR) if role in held), None)


def permit(
    s: Session, team: str, staff_user: str, clinician_user: str, *, changes: bool
) -> tuple[str | None, Refused | None]:
    """(the role it is allowed under, None) or (None, the refusal, audited in `s`)."""
    role = role_for(s, team, staff_user, clinician_user)
    if role in (ADMIN, SCHEDULER) or (role == SUPERVISOR and not changes):
        return role, None
    if role == SUPERVISOR:
        words = (
            f"As {clinician_user}'s supervisor you can see their sessions but not change "
            "them. Nothing was changed."
        )
    elif changes:
        words = (
            f"You are not assigned to schedule for {clinician_user}, so nothing was changed. "
            "An admin of the practice can assign you (`sessionbot roles grant`)."
        )
    else:
        words = f"You are not assigned to {clinician_user}, so their sessions are not shown."
    audit.record(
        s,
        actor=audit.staff(team, staff_user),
        action="refused",
        for_clinician=audit.staff(team, clinician_user),
    )
    return None, Refused(words)


def redact(s: Session, sessions: list[ScheduledSession]) -> None:
    """What a supervisor sees of these sessions: the participant as initials, no e-mail,
    no phone, no links. The rows leave the unit first, so nothing of this is saved."""
    for session in sessions:
        s.expunge(session)
        session.participant = initials(session.participant)
        session.email = None
        session.phone = None
        session.token = session.host_token = ""  # no way into the room or the page


def booked_notice(staff_user: str, session: ScheduledSession, tz: str) -> str:
    """The clinician's DM when someone booked for them (initials only)."""
    return (
        f"<@{staff_user}> booked a session for you with {initials(session.participant)} "
        f"on {when(session.start_at, tz)}. It is on your dashboard."
    )


# Granting and revoking ------------------------------------------------------------------

OPERATOR = audit.SYSTEM  # the command line's operator (trusted), as the audit names them


def _who(team: str, by: str | None) -> str:
    return OPERATOR if by is None else audit.staff(team, by)


def _grantee(user: str) -> str:
    """The user a role is about, as an audit field name (ids only, never a name)."""
    return "grantee_" + re.sub(r"[^a-z0-9_]", "_", user.lower())[:32]


def _may_grant(s: Session, team: str, by: str | None) -> None:
    if by is not None and not roles.is_admin(s, team, by):
        audit.record(s, actor=audit.staff(team, by), action="refused")
        raise Refused("Only an admin of the practice can grant or revoke roles.")


def grant(
    s: Session, team: str, user: str, role: str, clinicians: list[str], *, by: str | None
) -> list[str]:
    """Grant `role` (over each clinician; an admin's is over everyone); by an admin
    (`by`) or the operator (None). What was granted now, in words."""
    _may_grant(s, team, by)
    if role != ADMIN and not clinicians:
        raise ValueError(f"a {role} is assigned to clinicians: give --clinician")
    done = []
    each: list[str | None] = [None] if role == ADMIN else [*clinicians]
    for clinician in each:
        if roles.grant(s, team, user, role, clinician, by=_who(team, by)):
            audit.record(
                s,
                actor=_who(team, by),
                action="role_granted",
                for_clinician=audit.staff(team, clinician) if clinician else None,
                fields=(role, _grantee(user)),
            )
            done.append(f"{user} is now {role}" + (f" for {clinician}" if clinician else ""))
    return done


def revoke(
    s: Session, team: str, user: str, role: str, clinicians: list[str], *, by: str | None
) -> int:
    """Take `role` away (over these clinicians; over all when none given); how many.
    An admin cannot take away the practice's last admin (the operator can)."""
    _may_grant(s, team, by)
    if role == ADMIN and by is not None:
        others = [h for h in roles.held(s, team) if h.role == ADMIN and h.user != user]
        if not others:
            raise Refused(
                f"{user} is the practice's only admin: grant admin to someone else first. "
                "Nothing was changed."
            )
    count = 0
    each: list[str | None] = [*clinicians] or [
        h.clinician for h in roles.held(s, team, user) if h.role == role
    ]
    for clinician in each:
        taken = roles.revoke(s, team, user, role, clinician)
        if taken:
            audit.record(
                s,
                actor=_who(team, by),
                action="role_revoked",
                for_clinician=audit.staff(team, clinician) if clinician else None,
                fields=(role, _grantee(user)),
            )
        count += taken
    return count


def first_admin(s: Session, team: str, user: str) -> bool:
    """Make `user` the practice's admin when it has none yet (the Slack app's installer,
    the embedded default's first shell user); whether they were made admin now."""
    if roles.any_admin(s, team):
        return False
    roles.grant(s, team, user, ADMIN, None, by=OPERATOR)
    audit.record(s, actor=OPERATOR, action="role_granted", fields=(ADMIN, _grantee(user)))
    return True
