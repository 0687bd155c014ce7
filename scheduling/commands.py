"""The clinician's commands on their own sessions, for every face.

Slack's dashboard, the command line and the conversation call these and say what they
return: the rules (whose session it is, whether a new start is possible, what the
participant will hear) and the words of the answer live here once. Each command works in
the caller's unit of work and never commits on its own.

A new start is checked by the one rule in `scheduling.starts`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ground.channel import Channel
from ground.formatting import initials, when
from ground.practice import Practice
from scheduling import booking, refunds
from scheduling.clashes import overlap_note
from scheduling.results import NOT_FOUND, Done, clinician_zone, once, what_session
from scheduling.starts import StartCheck, check_start
from store import audit, session_rows
from store.models import Clinician, ScheduledSession


def cancel(
    s: Session,
    clinician: Clinician,
    public_id: str,
    practice: Practice,
    now: datetime,
    *,
    refund: str | None = None,
) -> Done:
    """Cancel one session; the participant is told if they were invited. A paid session
    needs `refund` (scheduling/refunds.py: full, none, less_fee): without it nothing changes
    and the answer asks; the refund is made after the unit commits (sessionbot/refunds.py)."""
    return once(
        s, clinician.id, "cancel", public_id, f"refund={refund}" if refund else "", now,
        lambda: _cancel(s, clinician, public_id, practice, now, refund),
    )  # fmt: skip


def cancel_series(
    s: Session, clinician: Clinician, public_id: str, practice: Practice, now: datetime
) -> Done:
    """Cancel this occurrence and the following ones of its series."""
    return once(
        s, clinician.id, "cancel_series", public_id, "", now,
        lambda: _cancel_series(s, clinician, public_id, practice, now),
    )  # fmt: skip


def reschedule(
    s: Session,
    clinician: Clinician,
    public_id: str,
    check: StartCheck,
    practice: Practice,
    now: datetime,
) -> Done:
    """Move a session to the start `check` found (or say why not: nothing changes)."""
    start = check.start
    if start is None:
        return _reschedule(s, clinician, public_id, check, practice, now)

    def holds() -> bool:
        found = session_rows.session_for_clinician(s, clinician.id, public_id)
        return found is not None and found.start_at == start

    return once(
        s, clinician.id, "reschedule", public_id, start.isoformat(), now,
        lambda: _reschedule(s, clinician, public_id, check, practice, now), holds,
    )  # fmt: skip


def schedule_next(
    s: Session,
    clinician: Clinician,
    public_id: str,
    weeks: int,
    practice: Practice,
    now: datetime,
    *,
    draft_id: str,
) -> Done:
    """A new session `weeks` later at the same wall time (see `_schedule_next`)."""
    return once(
        s, clinician.id, "schedule_next", public_id, f"weeks={weeks}", now,
        lambda: _schedule_next(s, clinician, public_id, weeks, practice, now, draft_id=draft_id),
    )  # fmt: skip


def remind_now(
    s: Session, clinician: Clinician, public_id: str, practice: Practice, now: datetime
) -> Done:
    """A reminder to the participant now (see `_remind_now`)."""
    return once(
        s, clinician.id, "remind", public_id, "", now,
        lambda: _remind_now(s, clinician, public_id, practice, now),
    )  # fmt: skip


def _cancel(
    s: Session,
    clinician: Clinician,
    public_id: str,
    practice: Practice,
    now: datetime,
    refund: str | None = None,
) -> Done:
    session = session_rows.session_for_clinician(s, clinician.id, public_id, lock=True)
    if session is None:
        return NOT_FOUND
    what = what_session(session, clinician_zone(clinician, practice))
    offered = refunds.offer(session, practice, now)
    option = None
    if offered is not None:
        option = offered.option(refund) if refund else None
        if option is None:
            problem = refunds.needs_choice(offered)
            if refund == refunds.LESS_FEE:
                problem = "No late-cancellation fee applies to this session. " + problem
            return Done(problem, changed=False)
    if not booking.cancel(s, session, practice, now):
        return Done(f"{what[0].upper()}{what[1:]} was already cancelled.", changed=False)
    paid_words = ""
    if option is not None:
        refunds.choose(session, option)
        paid_words = refunds.choice_words(session)
    elif refund and refund != refunds.NONE:  # a refund asked of a session with no payment
        paid_words = " It had no payment to refund."
    if booking.invitation_left(s, session):
        told = " The participant will be told."
    elif session.invite_channel != Channel.NONE:
        told = " Their invitation hadn't gone out yet, so they get no notice."
    else:
        told = ""
    return Done(f"Cancelled {what}.{told}{paid_words}", changed=True)


def _reschedule(
    s: Session,
    clinician: Clinician,
    public_id: str,
    check: StartCheck,
    practice: Practice,
    now: datetime,
) -> Done:
    """Move a session to the start `check` found (or say why not: nothing changes)."""
    session = session_rows.session_for_clinician(s, clinician.id, public_id, lock=True)
    if session is None or session.status == "cancelled":
        return NOT_FOUND
    if check.start is None:
        return Done(f"{check.problem} Nothing was changed.", changed=False)
    if session.start_at == check.start:
        return Done("The session is already at that time; nothing changed.", changed=False)
    try:
        booking.reschedule(s, session, check.start, practice, now)
    except ValueError:  # the start passed between the check and now
        return Done("That time has passed: pick a later time. Nothing was changed.", False)
    tz = clinician_zone(clinician, practice)
    said = f"Moved the session with {initials(session.participant)} to {when(check.start, tz)}."
    return Done(f"{said} {check.note}" if check.note else said, changed=True)


def reschedule_prompt(
    s: Session, clinician: Clinician, public_id: str, practice: Practice
) -> tuple[ScheduledSession, str] | None:
    """The session to move and the words above the form, or None when it can't be moved."""
    session = session_rows.session_for_clinician(s, clinician.id, public_id)
    if session is None or session.status == "cancelled":
        return None
    tz = clinician_zone(clinician, practice)
    text = f"Move {what_session(session, tz)}."
    if session.invite_channel != Channel.NONE:
        text += (
            " The participant will get an update."
            if booking.invitation_left(s, session)
            else " The participant will get the invitation for the new time."
        )
    return session, text


MAX_WEEKS_AHEAD = 52


def _told(session: ScheduledSession) -> str:
    channel = Channel.invitation(session.invite_channel)
    if channel is None or channel is Channel.NONE:
        return " No invitation is sent (none was chosen)."
    return f" The invitation goes out by {channel.said}."


def _schedule_next(
    s: Session,
    clinician: Clinician,
    public_id: str,
    weeks: int,
    practice: Practice,
    now: datetime,
    *,
    draft_id: str,
) -> Done:
    """A new session `weeks` later at the same wall time in the clinician's zone (across a
    clock change), like the old one in everything else; its invitation goes out like any
    new session's. `draft_id` makes a repeated request (a retried click) book once."""
    session = session_rows.session_for_clinician(s, clinician.id, public_id)
    if session is None:
        return NOT_FOUND
    if not 1 <= weeks <= MAX_WEEKS_AHEAD:
        return Done(f"Pick 1 to {MAX_WEEKS_AHEAD} weeks ahead. Nothing was booked.", False)
    if session.status == "cancelled":
        return Done(
            "That session was cancelled, so there is nothing to repeat. "
            "Schedule a new one with /schedule. Nothing was booked.",
            changed=False,
        )
    tz = clinician_zone(clinician, practice)
    local = session.start_at.astimezone(ZoneInfo(tz))
    day = local.date() + timedelta(weeks=weeks)
    check = check_start(day, local.hour, local.minute, tz, now, practice)
    if check.start is None:
        return Done(f"{check.problem} Nothing was booked.", changed=False)
    draft = booking.spec_from_session(session, draft_id, check.start)
    overlap = overlap_note(s, clinician, check.start, session.duration_min, practice)
    made, new = booking.book(s, clinician, draft, practice, now)
    if new:
        audit.session_event(s, session, "schedule_next")
    later = "1 week" if weeks == 1 else f"{weeks} weeks"
    text = (
        f"Booked the session with {initials(session.participant)} on {when(made.start_at, tz)}"
        f" (the same time, {later} later).{_told(made)}"
    )
    text += "".join(f" {x}" for x in (check.note, overlap) if x)
    return Done(text, changed=new, new_id=made.public_id)


def _cancel_series(
    s: Session, clinician: Clinician, public_id: str, practice: Practice, now: datetime
) -> Done:
    """Cancel this occurrence and the following ones of its series (a single session is
    cancelled alone)."""
    session = session_rows.session_for_clinician(s, clinician.id, public_id, lock=True)
    if session is None:
        return NOT_FOUND
    if session.series_id is None:
        return _cancel(s, clinician, public_id, practice, now)
    tz = clinician_zone(clinician, practice)
    following = session_rows.series_sessions(
        s, session.series_id, from_start=session.start_at, lock=True
    )
    paid = [x for x in following if refunds.offer(x, practice, now) is not None]
    if paid:  # each paid one's money is a choice of its own, never made for a whole series
        dates = ", ".join(when(x.start_at, tz) for x in paid)
        return Done(
            f"{len(paid)} of these sessions {'is' if len(paid) == 1 else 'are'} paid ({dates}): "
            "cancel each paid one on its own, to choose its refund, then the rest. "
            "Nothing was changed.",
            changed=False,
        )
    cancelled = [x for x in following if booking.cancel(s, x, practice, now)]
    if not cancelled:
        return Done("Those sessions were already cancelled.", changed=False)
    who = initials(session.participant)
    if len(cancelled) == 1:
        text = f"Cancelled the session with {who} on {when(cancelled[0].start_at, tz)}."
    else:
        text = (
            f"Cancelled {len(cancelled)} sessions with {who}, from "
            f"{when(cancelled[0].start_at, tz)} to {when(cancelled[-1].start_at, tz)}."
        )
    if any(booking.invitation_left(s, x) for x in cancelled):
        text += " The participant will be told of each they were invited to."
    return Done(text, changed=True)


def _remind_now(
    s: Session, clinician: Clinician, public_id: str, practice: Practice, now: datetime
) -> Done:
    """A reminder to the participant now, on their channel, through the outbox; at most
    one in `practice.remind_every`. The session row is locked, so two clicks at once
    send one."""
    session = session_rows.session_for_clinician(s, clinician.id, public_id, lock=True)
    if session is None:
        return NOT_FOUND
    tz = clinician_zone(clinician, practice)
    who = initials(session.participant)
    if session.status == "cancelled":
        return Done("That session was cancelled: no reminder was sent.", changed=False)
    channel = Channel.invitation(session.invite_channel)
    if channel is None or channel is Channel.NONE:
        return Done(
            f"The session with {who} has no invitation channel (“No invitation”), so "
            "there is no way to remind them. Edit the session to add an e-mail or a phone.",
            changed=False,
        )
    if session.start_at + timedelta(minutes=session.duration_min) <= now:
        return Done(f"The session with {who} is over: no reminder was sent.", changed=False)
    last = session.reminded_at
    if last is not None and now - last < practice.remind_every:
        minutes = int(practice.remind_every.total_seconds() // 60)
        return Done(
            f"A reminder went to {who} at {when(last, tz, with_date=False)}; I send at most "
            f"one in {minutes} minutes. The next can go at "
            f"{when(last + practice.remind_every, tz, with_date=False)}.",
            changed=False,
        )
    session.reminded_at = now
    audit.session_event(s, session, "remind_now")
    booking.queue(
        s,
        session,
        "reminder",
        due_at=now,
        key=f"reminder:now:{int(now.timestamp())}:{session.sequence}",
    )
    return Done(
        f"A reminder of the session on {when(session.start_at, tz)} is on its way to "
        f"{who} by {channel.said}.",
        changed=True,
    )
