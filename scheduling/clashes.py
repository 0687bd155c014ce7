"""Overlaps: which of the clinician's sessions a new time runs into, found in one query and
said in words."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ground.formatting import initials, when
from ground.practice import Practice
from scheduling.results import clinician_zone
from store import session_rows
from store.models import Clinician


@dataclass(frozen=True)
class Overlap:
    """Another of the clinician's sessions that a new time runs into."""

    public_id: str
    participant: str  # initials
    start: datetime


def find_overlaps(
    s: Session,
    clinician_id: int,
    starts: Sequence[datetime],
    duration_min: int,
    *,
    exclude: Sequence[int] = (),
) -> dict[int, list[Overlap]]:
    """For each of `starts` (by index) lasting `duration_min`, the clinician's live
    sessions it overlaps (by their durations). One query over the whole range, plain
    columns; only the sessions found are decrypted (for their initials)."""
    if not starts:
        return {}
    length = timedelta(minutes=duration_min)
    # A session that may still run at a new start began at most its longest length before.
    back = timedelta(minutes=session_rows.longest_session(s, clinician_id))
    windows = [(start - back, start + length) for start in starts]
    busy = [
        row for row in session_rows.busy_between(s, clinician_id, windows) if row[0] not in exclude
    ]
    # Sorted by start (the query's order): each new time looks only at the sessions that
    # begin within a day before it and before its end.
    begins = [row[1] for row in busy]
    hits: dict[int, list[int]] = {}
    for index, start in enumerate(starts):
        end = start + length
        low = bisect.bisect_left(begins, start - back)
        for session_id, other, minutes in busy[low : bisect.bisect_left(begins, end)]:
            if start < other + timedelta(minutes=minutes):
                hits.setdefault(index, []).append(session_id)
    labels = session_rows.session_labels(s, {i for ids in hits.values() for i in ids})
    return {
        index: [Overlap(labels[i][0], initials(labels[i][1]), labels[i][2]) for i in ids]
        for index, ids in hits.items()
    }


def overlap_text(found: Sequence[Overlap], tz: str) -> str:
    """'It overlaps your session with J.D. on Tue, Dec 1, 2026, 3:00 PM EST.'"""
    named = [f"{o.participant} on {when(o.start, tz)}" for o in found]
    if not named:
        return ""
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    noun = "session" if len(named) == 1 else "sessions"
    return f"It overlaps your {noun} with {listed}."


def overlap_note(
    s: Session, clinician: Clinician, start: datetime, duration_min: int, practice: Practice,
    *, exclude: Sequence[int] = (),
) -> str | None:  # fmt: skip
    """The overlap of one new time, in words, or None."""
    found = find_overlaps(s, clinician.id, [start], duration_min, exclude=exclude).get(0)
    return overlap_text(found, clinician_zone(clinician, practice)) if found else None


def move_overlap(
    s: Session, clinician: Clinician, public_id: str, start: datetime, practice: Practice
) -> str | None:
    """What a move of this session to `start` would overlap, in words (None: nothing)."""
    session = session_rows.session_for_clinician(s, clinician.id, public_id)
    if session is None:
        return None
    return overlap_note(s, clinician, start, session.duration_min, practice, exclude=[session.id])
