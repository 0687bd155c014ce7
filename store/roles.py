"""Roles in a practice (`staff_roles`): who may act for, or read, which clinician.

A row is (team, user, role, clinician assigned). An admin's row names no clinician ("");
a scheduler or supervisor has one row per clinician assigned. The rules of what a role
may do live in scheduling/roles.py; this module only reads and writes the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, delete, exists, or_, select
from sqlalchemy.orm import Session

from store.models import StaffActing, StaffRole

ADMIN, SCHEDULER, SUPERVISOR = "admin", "scheduler", "supervisor"
ROLES = (ADMIN, SCHEDULER, SUPERVISOR)


@dataclass(frozen=True)
class Held:
    team: str
    user: str
    role: str
    clinician: str | None  # the clinician assigned; None for an admin


def grant(s: Session, team: str, user: str, role: str, clinician: str | None, *, by: str) -> bool:
    """Give `user` the role (over `clinician`); False when they held it already."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    assigned = "" if role == ADMIN else (clinician or "")
    if _has(s, team, user, role, assigned):
        return False
    s.add(StaffRole(team_id=team, user_id=user, role=role, clinician_user=assigned, granted_by=by))
    s.flush()
    return True


def revoke(s: Session, team: str, user: str, role: str, clinician: str | None) -> int:
    """Take the role away (over `clinician`, or over everyone when None); how many rows."""
    query = delete(StaffRole).where(
        StaffRole.team_id == team, StaffRole.user_id == user, StaffRole.role == role
    )
    if clinician is not None and role != ADMIN:
        query = query.where(StaffRole.clinician_user == clinician)
    return int(s.execute(query).rowcount or 0)  # type: ignore[attr-defined]


def held(s: Session, team: str | None = None, user: str | None = None) -> list[Held]:
    query = select(StaffRole)
    if team is not None:
        query = query.where(StaffRole.team_id == team)
    if user is not None:
        query = query.where(StaffRole.user_id == user)
    rows = s.scalars(
        query.order_by(
            StaffRole.team_id, StaffRole.user_id, StaffRole.role, StaffRole.clinician_user
        )
    )
    return [Held(r.team_id, r.user_id, r.role, r.clinician_user or None) for r in rows]


def is_admin(s: Session, team: str, user: str) -> bool:
    return _has(s, team, user, ADMIN, "")


def assigned(s: Session, team: str, user: str, role: str, clinician: str) -> bool:
    return _has(s, team, user, role, clinician)


def over(s: Session, team: str, user: str, clinician: str) -> set[str]:
    """The roles `user` holds over `clinician` (an admin's over everyone), one query."""
    rows = s.scalars(
        select(StaffRole.role).where(
            StaffRole.team_id == team,
            StaffRole.user_id == user,
            or_(
                (StaffRole.role == ADMIN) & (StaffRole.clinician_user == ""),
                StaffRole.clinician_user == clinician,
            ),
        )
    )
    return set(rows)


def any_admin(s: Session, team: str) -> bool:
    return bool(
        s.scalar(select(exists().where(StaffRole.team_id == team, StaffRole.role == ADMIN)))
    )


def _has(s: Session, team: str, user: str, role: str, clinician: str) -> bool:
    return bool(
        s.scalar(
            select(
                exists().where(
                    StaffRole.team_id == team,
                    StaffRole.user_id == user,
                    StaffRole.role == role,
                    StaffRole.clinician_user == clinician,
                )
            )
        )
    )


_STAFF_ACTING = cast(Table, StaffActing.__table__)
_ACTING_FOR = select(_STAFF_ACTING.c.clinician_user).where(
    _STAFF_ACTING.c.team_id == bindparam("team"), _STAFF_ACTING.c.user_id == bindparam("user")
)  # built once, of the table's columns (no ORM step): read on every clinician's message


def acting_for(s: Session, team: str, user: str) -> str | None:
    """The clinician this staff member works for in Slack now (None: for themself)."""
    found = s.scalar(_ACTING_FOR, {"team": team, "user": user})
    return None if found is None else str(found)


def set_acting_for(s: Session, team: str, user: str, clinician: str | None) -> None:
    s.execute(delete(StaffActing).where(StaffActing.team_id == team, StaffActing.user_id == user))
    if clinician is not None:
        s.add(StaffActing(team_id=team, user_id=user, clinician_user=clinician))
        s.flush()
