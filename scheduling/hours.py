"""Working hours: whose apply, whether a start is inside them, and the question when not.

A clinician's own hours (stored as `ground.hours` writes them) apply, else the practice's
default (`working_hours` in the practice file), in the clinician's own zone; with
neither, nothing is asked. A start outside them is asked, never refused: "Sunday 3:00 AM
is outside your working hours. Book it anyway?". Setting, showing and clearing one's own
hours is one command here for every face (the conversation, App Home, `sessionbot hours`),
through the `Scheduler`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from ground.formatting import clock
from ground.hours import HoursError, WorkingHours, parse_hours
from ground.practice import Practice
from scheduling.results import Done
from store.models import Clinician

LISTED = 5  # the most occurrences of a series named in the question


def own_hours(clinician: Clinician | None) -> WorkingHours | None:
    if clinician is None or not clinician.working_hours:
        return None
    try:
        return parse_hours(clinician.working_hours)
    except HoursError:  # written by parse_hours itself: never expected
        return None


def hours_of(clinician: Clinician | None, practice: Practice) -> WorkingHours | None:
    """The hours that apply to a clinician: their own, else the practice's, else none."""
    return own_hours(clinician) or practice.hours


def close_call_bounds(clinician: Clinician | None, practice: Practice) -> tuple[int, int]:
    """The hours a time said without am/pm ("at 7") is read inside."""
    own = own_hours(clinician)
    return own.bounds() if own else practice.working_hours


def inside(start: datetime, tz: str, hours: WorkingHours) -> bool:
    local = start.astimezone(ZoneInfo(tz))
    return hours.contains(local.weekday(), local.hour * 60 + local.minute)


def start_words(start: datetime, tz: str, now: datetime) -> str:
    """ "Sunday 3:00 AM" within the coming week, "Sunday, January 10 3:00 AM" beyond."""
    local = start.astimezone(ZoneInfo(tz))
    ahead = (local.date() - now.astimezone(ZoneInfo(tz)).date()).days
    day = local.strftime("%A") if 0 <= ahead < 7 else f"{local:%A, %B} {local.day}"
    return f"{day} {clock(local.time())}"


def outside_question(
    starts: Sequence[datetime], tz: str, hours: WorkingHours, now: datetime
) -> str | None:
    """The question for the starts outside the hours, or None when every one is inside."""
    out = [start for start in starts if not inside(start, tz, hours)]
    if not out:
        return None
    yours = f"(Your working hours: {hours.said()}.)"
    if len(starts) == 1:
        said = start_words(out[0], tz, now)
        return f"{said} is outside your working hours. Book it anyway? {yours}"
    named = [_occurrence(start, tz) for start in out[:LISTED]]
    if len(out) > LISTED:
        named.append(f"and {len(out) - LISTED} more")
    which = "All" if len(out) == len(starts) else f"{len(out)} of the"
    return (
        f"{which} {len(starts)} sessions are outside your working hours: {'; '.join(named)}. "
        f"Book them anyway? {yours}"
    )


def _occurrence(start: datetime, tz: str) -> str:
    local = start.astimezone(ZoneInfo(tz))
    return f"{local:%a, %b} {local.day} {clock(local.time())}"


# The command: set, clear, show one's own hours ------------------------------------------


def _zone(clinician: Clinician, practice: Practice) -> str:
    return practice.zone_of(clinician.tz)


def _default_words(practice: Practice) -> str:
    if practice.hours is None:
        return "the practice sets none, so no start is asked about."
    return f"the practice's apply: {practice.hours.said()}."


def set_hours(clinician: Clinician, text: str, practice: Practice) -> Done:
    """Store the clinician's own hours once they are read; an unreadable phrase is said
    back and nothing is changed."""
    try:
        hours = parse_hours(text)
    except HoursError as err:
        return Done(f"{err} Nothing was changed.", changed=False)
    zone = _zone(clinician, practice)
    if clinician.working_hours == hours.spec:
        return Done(f"Your working hours are already {hours.said()} ({zone}).", changed=False)
    before = own_hours(clinician)
    clinician.working_hours = hours.spec
    was = f" (were {before.said()})" if before else ""
    return Done(
        f"Your working hours are now {hours.said()}, {zone} time{was}. "
        "I'll ask before booking a start outside them.",
        changed=True,
    )


def clear_hours(clinician: Clinician, practice: Practice) -> Done:
    if clinician.working_hours is None:
        return Done(f"You have no working hours of your own; {_default_words(practice)}", False)
    clinician.working_hours = None
    return Done(f"Your own working hours are cleared; {_default_words(practice)}", True)


def hours_problem(text: str) -> str | None:
    """Why an hours spec cannot be read (a form shows it by its field), or None."""
    try:
        parse_hours(text)
    except HoursError as err:
        return str(err)
    return None


def show_hours_default(practice: Practice) -> str:
    return f"You have no working hours of your own; {_default_words(practice)}"


def start_question(
    clinician: Clinician, start: datetime, practice: Practice, now: datetime
) -> str | None:
    """The question for one new start outside the clinician's hours (the Edit and
    Reschedule forms), or None."""
    found = hours_of(clinician, practice)
    if found is None:
        return None
    return outside_question([start], practice.zone_of(clinician.tz), found, now)


def show_hours(clinician: Clinician, practice: Practice) -> str:
    own = own_hours(clinician)
    if own is not None:
        return f"Your working hours: {own.said()} ({_zone(clinician, practice)})."
    return show_hours_default(practice)
