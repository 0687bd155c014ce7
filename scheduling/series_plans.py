"""A series ("every Tuesday for 6 weeks"): expanded, checked and said before Save, then
booked in one unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ground.channel import Channel
from ground.formatting import initials, when
from ground.practice import Practice
from ground.session import SessionSpec
from scheduling import booking, recurrence
from scheduling.clashes import find_overlaps, overlap_note, overlap_text
from scheduling.results import clinician_zone
from store.models import Clinician, ScheduledSession


@dataclass(frozen=True)
class SeriesBooked:
    """A stored series: its occurrences and the words of the confirmation."""

    sessions: list[ScheduledSession]
    text: str
    made: bool


def book_series(
    s: Session,
    clinician: Clinician,
    draft: SessionSpec,
    starts: Sequence[datetime],
    practice: Practice,
    now: datetime,
) -> SeriesBooked:
    """Save a series the summary showed (starts from `recurrence.expand`), in the
    caller's one unit of work; a second Save of the same draft stores nothing more."""
    if len(starts) > practice.max_series:
        raise ValueError("a series longer than the practice allows")
    if any(start <= now for start in starts):
        raise ValueError("a series start has passed")
    sessions, made = booking.book_series(s, clinician, draft, list(starts), practice, now)
    tz = clinician_zone(clinician, practice)
    text = (
        f"Saved {len(sessions)} sessions with {initials(draft.lead.name)}, from "
        f"{when(sessions[0].start_at, tz)} to {when(sessions[-1].start_at, tz)}."
    )
    if draft.lead.channel != Channel.NONE:
        text += (
            " Each has its own invitation, sent a week before it (the first ones now),"
            " and its own reminders."
        )
    return SeriesBooked(sessions, text, made)


@dataclass(frozen=True)
class SeriesPreview:
    """What the summary before Save shows of a series: its starts (empty when refused),
    the problem that refuses it, and the lines to show (dates, count, overlaps, notes)."""

    starts: tuple[datetime, ...]
    problem: str | None
    lines: list[str]


def series_preview(
    s: Session,
    clinician: Clinician,
    wanted: recurrence.Recurrence,
    first: date,
    hour: int,
    minute: int,
    duration_min: int,
    practice: Practice,
    now: datetime,
) -> SeriesPreview:
    """Expand a series the clinician asked for and say it, overlaps flagged: the one call
    the conversation's summary needs (then `book_series` with the starts on Save)."""
    tz = clinician_zone(clinician, practice)
    found = recurrence.expand(wanted, first, hour, minute, tz, now, practice)
    if found.problem is not None:
        return SeriesPreview((), found.problem, [found.problem])
    clashes = find_overlaps(s, clinician.id, found.starts, duration_min)
    said = {index: overlap_text(hits, tz) for index, hits in clashes.items()}
    lines = recurrence.summary_lines(found.starts, tz, wanted, said)
    return SeriesPreview(found.starts, None, lines + list(dict.fromkeys(found.notes)))


def draft_preview(
    s: Session,
    clinician: Clinician,
    wanted: recurrence.Recurrence,
    draft: SessionSpec,
    practice: Practice,
    now: datetime,
) -> SeriesPreview:
    """`series_preview` for a draft: the series starts at the draft's start, read in the
    clinician's zone."""
    local = draft.start.astimezone(ZoneInfo(clinician_zone(clinician, practice)))
    return series_preview(
        s, clinician, wanted, local.date(), local.hour, local.minute, draft.duration_min,
        practice, now,
    )  # fmt: skip


@dataclass(frozen=True)
class DraftWeek:
    """What the summary before Save adds from the clinician's week."""

    series: SeriesPreview | None  # the series the draft asks for (None: one session)
    overlap: str | None  # what the one session overlaps, in words


def draft_week(
    s: Session,
    clinician: Clinician,
    wanted: recurrence.Recurrence | None,
    draft: SessionSpec,
    practice: Practice,
    now: datetime,
) -> DraftWeek:
    if wanted is not None:
        return DraftWeek(draft_preview(s, clinician, wanted, draft, practice, now), None)
    note = overlap_note(s, clinician, draft.start, draft.duration_min, practice)
    return DraftWeek(None, note)


@dataclass(frozen=True)
class SeriesSaved:
    """A series saved from the conversation, as it is said."""

    text: str
    made: bool  # False: the same draft was saved before (a second Save)
    size: int
    first_id: str
    first_start: datetime
    last_id: str  # "same time next week" goes on from here
    enter_meeting_url: str  # the first session's
    participant_url: str


def save_draft_series(
    s: Session,
    clinician: Clinician,
    wanted: recurrence.Recurrence,
    draft: SessionSpec,
    practice: Practice,
    public_url: str,
    now: datetime,
) -> SeriesSaved | str:
    """Save every occurrence of the series the summary showed, in the caller's one unit;
    a series that can't be booked (too long, a date past or skipped by the clocks) is
    refused whole: its reason is returned and nothing is stored."""
    preview = draft_preview(s, clinician, wanted, draft, practice, now)
    if preview.problem:
        return preview.problem
    booked = book_series(s, clinician, draft, preview.starts, practice, now)
    first = booked.sessions[0]
    return SeriesSaved(
        booked.text,
        booked.made,
        len(booked.sessions),
        first.public_id,
        first.start_at,
        booked.sessions[-1].public_id,
        booking.enter_meeting_url(public_url, first),
        booking.participant_url(public_url, first),
    )
