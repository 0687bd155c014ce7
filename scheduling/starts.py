"""One rule for a new start everywhere (`check_start`): in the future; not a wall time that
the clocks skip (spring forward); for a wall time that happens twice (fall back), the
first of the two, said so; and a start so near that the join window is already open is
allowed, and said so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ground.practice import Practice


@dataclass(frozen=True)
class StartCheck:
    """A new start as the clinician gave it: the start, or why there is none; and a note
    to add to the answer (the repeated hour taken, the window already open)."""

    start: datetime | None
    problem: str | None = None
    note: str | None = None
    field: str = "time"  # which of a form's fields the problem is about: "date" or "time"
    skipped: bool = False  # the wall time does not exist that day (the clocks go forward)


def check_start(
    day: date, hour: int, minute: int, tz: str, now: datetime, practice: Practice | None = None
) -> StartCheck:
    """The wall time `day hour:minute` in zone `tz`, checked against `now`."""
    zone = ZoneInfo(tz)
    wall = datetime(day.year, day.month, day.day, hour, minute)
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    shown = first.strftime("%-I:%M %p")
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return StartCheck(
            None,
            f"{shown} doesn't exist on {day.strftime('%B %-d')}: the clocks move forward then.",
            skipped=True,
        )
    note = None
    if first.utcoffset() != second.utcoffset():
        note = (
            f"{shown} happens twice on {day.strftime('%B %-d')} (the clocks go back); "
            f"I took the first, {first.tzname()}."
        )
    start = first.astimezone(UTC)
    if start <= now:
        if day < now.astimezone(zone).date():
            return StartCheck(
                None, "That date has passed: pick today or a later date.", None, "date"
            )
        return StartCheck(None, "That time has passed: pick a later time.")
    if practice is not None and start - practice.join_before <= now:
        opens = "The join window is already open: Enter Meeting works from now."
        note = f"{note} {opens}" if note else opens
    return StartCheck(start, None, note)


def check_aware_start(start: datetime, now: datetime, practice: Practice) -> StartCheck:
    """A start given with its offset (ISO 8601 with +hh:mm): only the future is checked."""
    if start <= now:
        return StartCheck(None, "That time has passed: pick a later time.")
    note = None
    if start - practice.join_before <= now:
        note = "The join window is already open: Enter Meeting works from now."
    return StartCheck(start.astimezone(UTC), None, note)
