"""Text-message consent by number (the practice's `sms_consent = "ask"`).

A number is known by its blind indexes (every configured key's, as for `sms_opt_outs`);
the number itself is kept encrypted only so `keys rotate` can index the row again
(`forget` empties it). One row per number: agreed or not, when, and who recorded it
(the clinician "T:U" who answered the conversation's question, or "participant" for an
inbound STOP). A later answer replaces the earlier one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import audit
from store.models import SmsConsent

PARTICIPANT = audit.PARTICIPANT


@dataclass(frozen=True)
class Consent:
    agreed: bool
    recorded_by: str
    recorded_at: datetime


def _row(s: Session, indexes: Sequence[str], **options: object) -> SmsConsent | None:
    if not indexes:
        return None
    return s.scalars(
        select(SmsConsent)
        .where(SmsConsent.phone_index.in_(list(indexes)))
        .order_by(SmsConsent.recorded_at.desc())
        .limit(1)
        .execution_options(**options)
        .with_for_update()
    ).one_or_none()


def consent_of(s: Session, indexes: Sequence[str]) -> Consent | None:
    """The number's last recorded answer (None: never asked)."""
    row = _row(s, indexes)
    return None if row is None else Consent(row.agreed, row.recorded_by, row.recorded_at)


def agreed_among(s: Session, indexes: Sequence[str]) -> set[str]:
    """Which of these numbers (blind indexes) have a standing agreement to texts."""
    if not indexes:
        return set()
    return set(
        s.scalars(
            select(SmsConsent.phone_index).where(
                SmsConsent.phone_index.in_(list(indexes)), SmsConsent.agreed.is_(True)
            )
        )
    )


def record_consent(
    s: Session,
    indexes: Sequence[str],
    agreed: bool,
    *,
    by: str,
    at: datetime,
    phone: str | None = None,
) -> bool:
    """Record the number's answer (`indexes`: the first key's first, a new row takes it),
    with the audit row (no number in it). False when it already stood so."""
    row = _row(s, indexes)
    if row is None:
        try:
            with s.begin_nested():
                s.add(SmsConsent(phone_index=indexes[0], phone=phone, agreed=agreed, recorded_by=by,
                                 recorded_at=at))  # fmt: skip
        except IntegrityError:  # two first answers at once: the other one's row
            row = _row(s, indexes, populate_existing=True)
            assert row is not None
        else:
            _audit(s, agreed, by)
            return True
    if phone and row.phone is None:
        row.phone = phone
    if row.agreed == agreed and row.recorded_by == by:
        return False
    row.agreed, row.recorded_by, row.recorded_at = agreed, by, at
    _audit(s, agreed, by)
    return True


def withdraw(s: Session, indexes: Sequence[str], at: datetime, phone: str | None = None) -> bool:
    """A STOP from the number: recorded as no consent, by the participant, at `at`
    (whether or not an agreement was recorded before). False when it already stood so."""
    return record_consent(s, indexes, False, by=PARTICIPANT, at=at, phone=phone)


def _audit(s: Session, agreed: bool, by: str) -> None:
    action = "sms_consent_recorded" if agreed or by != PARTICIPANT else "sms_consent_withdrawn"
    audit.record(s, actor=by, action=action)


def forget_numbers(s: Session, indexes: Sequence[str]) -> int:
    """`forget`: the numbers leave their consent rows; each answer stays by its index (the
    practice's record of consent, as a STOP stays)."""
    result = s.execute(
        update(SmsConsent)
        .where(SmsConsent.phone_index.in_(list(indexes)), SmsConsent.phone.is_not(None))
        .values(phone=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
