"""The clinician's day in Slack DMs: the morning agenda and the nudge before each session.

The worker calls `plan_day` on every pass; it queues clinician notices in the outbox (one
per dedupe key, so any number of workers plan each once): a clinician who asked for their
agenda gets it at their chosen local wall time (a day the clocks change included), and,
when the practice file sets `[agenda] nudge_minutes_before`, every clinician gets a DM that
long before each session with its Enter Meeting link.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ground.formatting import initials, when
from ground.practice import Practice
from scheduling import agendas, queue, results
from store import clinician_rows, outbox_rows, session_rows

NUDGE_PREFIX = "nudge:"  # the dedupe key of a nudge (the worker adds its Enter Meeting)
# An agenda not sent by then (the worker was down all morning) is not sent that day.
AGENDA_LATE = timedelta(hours=3)


def agenda_due(agenda_at: str, tz: str, now: datetime) -> tuple[str, datetime] | None:
    """(the local date, the moment) of the agenda due now, or None outside its window."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    # A wall time the clocks skip (2:30 on the spring-forward day) is read as the same
    # instant UTC would give: it fires at 3:30 new time, once.
    due = datetime.combine(today, time.fromisoformat(agenda_at), zone).astimezone(UTC)
    if due <= now < due + AGENDA_LATE:
        return today.isoformat(), due
    return None


def plan_agendas(s: Session, now: datetime, practice: Practice, public_url: str) -> int:
    planned = 0
    for clinician in clinician_rows.clinicians_with_agenda(s):
        tz = results.clinician_zone(clinician, practice)
        due = agenda_due(clinician.agenda_at or "", tz, now)
        if due is None:
            continue
        day, _ = due
        key = f"agenda:{clinician.id}:{day}"
        if outbox_rows.outbox_has(s, key):  # sent (or planned) already: nothing to compute
            continue
        found = agendas.agenda(
            s, clinician, datetime.fromisoformat(day).date(), practice, public_url
        )
        if not [row for row in found.rows if row.status != "cancelled"]:
            continue  # no DM on a day without sessions
        text = "Your agenda for " + "\n".join(agendas.agenda_lines(found))
        planned += queue.put(s, queue.notice(clinician.id, None, text, key, now), once=True)
    return planned


def nudge_text(minutes: int, participant: str, start: datetime, tz: str) -> str:
    """The words of the nudge; the worker sends it with the Enter Meeting button."""
    return (
        f"In {minutes} minutes: your session with {participant} at "
        f"{when(start, tz, with_date=False)}."
    )


def plan_nudges(s: Session, now: datetime, practice: Practice, public_url: str) -> int:
    if practice.nudge_before is None:
        return 0
    planned = 0
    minutes = int(practice.nudge_before.total_seconds() // 60)
    for session in session_rows.starting_between(s, now, now + practice.nudge_before):
        key = f"{NUDGE_PREFIX}{session.public_id}:{session.sequence}"  # moved: nudged again
        if outbox_rows.outbox_has(s, key):
            continue
        tz = results.clinician_zone(session.clinician, practice)
        text = nudge_text(minutes, initials(session.participant), session.start_at, tz)
        planned += queue.put(
            s, queue.notice(session.clinician_id, session.id, text, key, now), once=True
        )
    return planned


def plan_day(s: Session, now: datetime, practice: Practice, public_url: str) -> int:
    """Queue the agendas and nudges due now; how many were queued."""
    return plan_agendas(s, now, practice, public_url) + plan_nudges(s, now, practice, public_url)
