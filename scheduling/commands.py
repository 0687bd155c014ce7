"""The clinician's commands on their own sessions, for every face.

Slack's dashboard, the command line and the conversation call these and say what they
return: the rules (whose session it is, whether a new start is possible, what the
participant will hear) and the words of the answer live here once. Each command works in
the caller's unit of work and never commits on its own.

A new start is checked by the one rule in `scheduling.starts`.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ground.channel import Channel
from ground.formatting import clock, initials, money, short_zone, when
from ground.practice import Practice
from ground.session import SessionSpec
from scheduling import booking, recurrence, refunds, waiting
from scheduling.starts import StartCheck, check_start
from store import audit, repos
from store.models import Clinician, ScheduledSession

DASHBOARD_PAGE = 5


@dataclass(frozen=True)
class Done:
    """What a command did, in the words to tell the clinician."""

    text: str
    changed: bool
    found: bool = True
    new_id: str | None = None  # the session a command made (Schedule Next)
    repeated: bool = False  # the same action was done moments ago: answered, not redone


def _what(session: ScheduledSession, tz: str) -> str:
    return f"the session with {initials(session.participant)} on {when(session.start_at, tz)}"


def clinician_zone(clinician: Clinician, practice: Practice) -> str:
    return practice.zone_of(clinician.tz)


NOT_FOUND = Done("I couldn't find that session among yours.", changed=False, found=False)


# Once per click and per intent ---------------------------------------------------------
#
# Every action on a session (Slack's buttons and forms, the CLI, the page's RSVP and Pay
# Now) is claimed first, in the caller's transaction (`repos.claim_action`): the same
# clinician, action, session and arguments again within `CLAIM_WINDOW` (a double click,
# a second tab, Slack's retry, another process) is answered "already done" with what the
# first was told, and does nothing. An action that changed nothing (refused, not found)
# leaves no claim, so trying again after fixing the cause works at once.

CLAIM_WINDOW = timedelta(seconds=30)
ACTION_NAMES = {
    "schedule_next": "Schedule Next",
    "remind": "Remind now",
    "cancel": "Cancel",
    "cancel_series": "Cancel this and following",
    "reschedule": "Reschedule",
    "edit": "Edit",
    "rsvp": "RSVP",
    "pay": "Pay Now",
    "rotate_feed": "Make a new calendar link",
}


def already_done(action: str, result: str | None) -> Done:
    """The answer to a repeat: the friendly line with what the first was told."""
    name = ACTION_NAMES.get(action, action)
    if result is None:
        return Done(f"{name} is already being done; one moment.", changed=False, repeated=True)
    try:
        first = json.loads(result)
        text, new_id = str(first["text"]), first.get("new_id")
    except (ValueError, KeyError, TypeError):
        text, new_id = result, None
    return Done(f"{name} was already done: {text}", changed=False, new_id=new_id, repeated=True)


def once(
    s: Session,
    clinician_id: int,
    action: str,
    public_id: str,
    args: str,
    now: datetime,
    run: Callable[[], Done],
    holds: Callable[[], bool] | None = None,
) -> Done:
    """`run()` unless the same action was claimed within `CLAIM_WINDOW` (then "already
    done"); in the caller's unit of work, so the claim commits with what was done.

    `holds` says whether what the earlier one did still stands (the session is at the
    time it was moved to); when it does not (moved back since), the action is done again.
    """
    claimed = repos.claim_action(s, clinician_id, action, public_id, args, now, CLAIM_WINDOW)
    if not claimed.mine and claimed.result is not None and holds is not None and not holds():
        claimed = repos.claim_action(
            s, clinician_id, action, public_id, args, now, CLAIM_WINDOW, superseded=True
        )
    if not claimed.mine:
        return already_done(action, claimed.result)
    done = run()
    if done.changed:
        result = json.dumps({"text": done.text, "new_id": done.new_id})
        repos.finish_claim(s, claimed, result)
    else:
        repos.release_claim(s, claimed)
    return done


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
        found = repos.session_for_clinician(s, clinician.id, public_id)
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
    session = repos.session_for_clinician(s, clinician.id, public_id, lock=True)
    if session is None:
        return NOT_FOUND
    what = _what(session, clinician_zone(clinician, practice))
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
    session = repos.session_for_clinician(s, clinician.id, public_id, lock=True)
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
    session = repos.session_for_clinician(s, clinician.id, public_id)
    if session is None or session.status == "cancelled":
        return None
    tz = clinician_zone(clinician, practice)
    text = f"Move {_what(session, tz)}."
    if session.invite_channel != Channel.NONE:
        text += (
            " The participant will get an update."
            if booking.invitation_left(s, session)
            else " The participant will get the invitation for the new time."
        )
    return session, text


@dataclass(frozen=True)
class SessionRow:
    """One upcoming session as a dashboard shows it (the participant as initials)."""

    public_id: str
    start: datetime
    participant: str
    invite_channel: str
    invite_status: str
    rsvp: str | None
    payment_status: str
    enter_meeting_url: str
    series_id: str | None = None
    reminded_at: datetime | None = None
    waiting: bool = False  # the participant pressed Enter in this join window
    paid: bool = False  # cancelling it asks what to refund (scheduling/refunds.py)


@dataclass(frozen=True)
class DashboardPage:
    rows: list[SessionRow]
    page: int
    total: int
    tz: str
    agenda_at: str | None = None  # the morning agenda DM's time, None: off
    # Sessions under way whose participant is in the waiting room (they have left the
    # upcoming list at their start; "waiting" holds until the session's end).
    waiting: tuple[SessionRow, ...] = ()
    refund_rows: Sequence[refunds.RefundRow] = ()  # recent cancellations' refunds, failed first


WAITING_SHOWN = 3  # at most this many under way on a dashboard (Slack's 100 blocks)
UNDER_WAY_LOOKBACK = timedelta(days=1)  # longer than any session and its window


def dashboard(
    s: Session,
    clinician: Clinician,
    page: int,
    now: datetime,
    practice: Practice,
    public_url: str,
    *,
    size: int = DASHBOARD_PAGE,
) -> DashboardPage:
    """One page of the clinician's upcoming sessions (a page past the end shows the last)."""
    total = repos.count_sessions(s, clinician.id, after=now)
    page = max(0, min(page, (total - 1) // size)) if total else 0
    found = repos.list_sessions(s, clinician.id, after=now, limit=size, offset=page * size)
    rows = [_session_row(x, now, practice, public_url) for x in found]
    under_way = [
        _session_row(x, now, practice, public_url)
        for x in repos.entered_under_way(s, clinician.id, now - UNDER_WAY_LOOKBACK, now)
        if waiting.is_waiting(x, practice, now)
    ]
    return DashboardPage(
        rows,
        page,
        total,
        clinician_zone(clinician, practice),
        clinician.agenda_at,
        tuple(under_way[-WAITING_SHOWN:]),
        refunds.dashboard_rows(s, clinician, practice, now),
    )


def _session_row(
    x: ScheduledSession, now: datetime, practice: Practice, public_url: str
) -> SessionRow:
    return SessionRow(
        public_id=x.public_id,
        start=x.start_at,
        participant=initials(x.participant),
        invite_channel=x.invite_channel,
        invite_status=x.invite_status,
        rsvp=x.rsvp,
        payment_status=x.payment_status,
        enter_meeting_url=booking.enter_meeting_url(public_url, x),
        series_id=x.series_id,
        reminded_at=x.reminded_at,
        waiting=waiting.is_waiting(x, practice, now),
        paid=x.payment_status in refunds.PAID and x.payment_intent is not None,
    )


# Overlaps -------------------------------------------------------------------------------


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
    back = timedelta(minutes=repos.longest_session(s, clinician_id))
    windows = [(start - back, start + length) for start in starts]
    busy = [row for row in repos.busy_between(s, clinician_id, windows) if row[0] not in exclude]
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
    labels = repos.session_labels(s, {i for ids in hits.values() for i in ids})
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
    session = repos.session_for_clinician(s, clinician.id, public_id)
    if session is None:
        return None
    return overlap_note(s, clinician, start, session.duration_min, practice, exclude=[session.id])


# Schedule Next and series ---------------------------------------------------------------

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
    session = repos.session_for_clinician(s, clinician.id, public_id)
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
    session = repos.session_for_clinician(s, clinician.id, public_id, lock=True)
    if session is None:
        return NOT_FOUND
    if session.series_id is None:
        return _cancel(s, clinician, public_id, practice, now)
    tz = clinician_zone(clinician, practice)
    following = repos.series_sessions(s, session.series_id, from_start=session.start_at, lock=True)
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


# Remind now -----------------------------------------------------------------------------


def _remind_now(
    s: Session, clinician: Clinician, public_id: str, practice: Practice, now: datetime
) -> Done:
    """A reminder to the participant now, on their channel, through the outbox; at most
    one in `practice.remind_every`. The session row is locked, so two clicks at once
    send one."""
    session = repos.session_for_clinician(s, clinician.id, public_id, lock=True)
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


# The agenda -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgendaRow:
    start: datetime
    participant: str  # initials
    participant_tz: str
    status: str
    rsvp: str | None
    payment_status: str
    enter_meeting_url: str


@dataclass(frozen=True)
class Agenda:
    day: date
    tz: str
    rows: list[AgendaRow]


def agenda(
    s: Session, clinician: Clinician, day: date, practice: Practice, public_url: str
) -> Agenda:
    """The clinician's sessions on `day` (midnight to midnight in their zone, 23 or 25
    hours on a day the clocks change), in time order, cancelled ones too."""
    tz = clinician_zone(clinician, practice)
    zone = ZoneInfo(tz)
    begin = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    rows = [
        AgendaRow(
            start=x.start_at,
            participant=initials(x.participant),
            participant_tz=x.participant_tz,
            status=x.status,
            rsvp=x.rsvp,
            payment_status=x.payment_status,
            enter_meeting_url=booking.enter_meeting_url(public_url, x),
        )
        for x in repos.sessions_on(s, clinician.id, begin, end)
    ]
    return Agenda(day, tz, rows)


PAYMENT_WORDS = {
    "not_required": "no payment",
    "pending": "payment pending",
    "paid": "paid",
    "payment_failed": "payment failed",
    "partially_refunded": "paid, partly refunded",
    "refunded": "refunded",
}


def agenda_lines(found: Agenda) -> list[str]:
    """One line a session: both zones, status, RSVP and payment."""
    heading = f"{found.day.strftime('%A, %B')} {found.day.day}, {found.day.year}"
    if not found.rows:
        return [f"{heading}: no sessions."]
    count = len(found.rows)
    lines = [f"{heading}: {count} session{'s' if count != 1 else ''} ({short_zone(found.tz)})"]
    for row in found.rows:
        yours = when(row.start, found.tz, with_date=False)
        theirs = ""
        if row.participant_tz != found.tz:
            clock = when(row.start, row.participant_tz, with_date=False)
            local = row.start.astimezone(ZoneInfo(row.participant_tz)).date()
            if local != found.day:  # their evening before, or their morning after
                clock = f"{local.strftime('%a')} {clock}"
            theirs = f" ({clock} theirs)"
        rsvp = {"yes": "will attend", "no": "can't make it"}.get(row.rsvp or "", "no RSVP yet")
        lines.append(
            f"{yours}{theirs} · {row.participant} · {row.status} · {rsvp} · "
            f"{PAYMENT_WORDS.get(row.payment_status, row.payment_status)}"
        )
    return lines


_AGENDA_TIME = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?\s*$", re.IGNORECASE)
_AGENDA_ASK = re.compile(
    r"\b(?:send|give|dm|message)\s+me\s+(?:my|the)\s+(?:daily\s+|morning\s+)?agenda"
    r"(?:\s+(?:every\s+(?:morning|day)\s+)?at\s+(?P<at>\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?))?",
    re.IGNORECASE,
)
_AGENDA_STOP = re.compile(
    r"\b(?:stop|no\s+more|turn\s+off|cancel)\s+(?:sending\s+)?(?:my|the)\s+(?:daily\s+|"
    r"morning\s+)?agenda\b",
    re.IGNORECASE,
)
DEFAULT_AGENDA_AT = "07:30"


def agenda_clock(text: str) -> str | None:
    """'7:30', '7:30am', '19:00', '7 am' as 'HH:MM' (24-hour); None if not a clock time."""
    found = _AGENDA_TIME.match(text)
    if found is None:
        return None
    hour, minute = int(found.group(1)), int(found.group(2) or 0)
    meridiem = (found.group(3) or "").lower().replace(".", "")
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def agenda_request(text: str) -> str | None:
    """What a message asks of the morning agenda: 'HH:MM' ("send me my agenda at 7:30"),
    'off' ("stop my agenda"), or None when it asks nothing of it."""
    if _AGENDA_STOP.search(text):
        return "off"
    asked = _AGENDA_ASK.search(text)
    if asked is None:
        return None
    return agenda_clock(asked.group("at")) if asked.group("at") else DEFAULT_AGENDA_AT


def set_agenda(s: Session, clinician: Clinician, at: str | None) -> Done:
    """Turn the morning agenda DM on at `at` ('HH:MM' in the clinician's zone), or off."""
    if at is not None and agenda_clock(at) != at:
        return Done("Give the agenda time as HH:MM, like 07:30. Nothing was changed.", False)
    if clinician.agenda_at == at:
        said = "off" if at is None else f"at {clock(time.fromisoformat(at))}"
        return Done(f"Your morning agenda is already {said}.", changed=False)
    clinician.agenda_at = at
    if at is None:
        return Done("I'll stop sending your morning agenda.", changed=True)
    zone = clinician.tz or "your zone"
    return Done(
        f"I'll send your agenda every morning at {clock(time.fromisoformat(at))} ({zone}): "
        "the day's sessions, and nothing on a day without any.",
        changed=True,
    )


# Edit in one screen ---------------------------------------------------------------------

EDIT_FIELDS = (
    "date", "time", "participant", "invite_channel", "email", "phone",
    "participant_tz", "documents", "service", "amount",
)  # fmt: skip


@dataclass(frozen=True)
class EditForm:
    """Every field of a session as the one-screen form gives them, checked."""

    start: datetime
    participant: str
    invite_channel: Channel
    email: str | None
    phone: str | None
    participant_tz: str
    documents: str | None
    service: str | None
    amount: Decimal | None
    note: str | None = None  # what the start's check said (the repeated hour taken)


def amount_problem(amount: Decimal, practice: Practice) -> str | None:
    """The conversation's rules for an amount: more than 0, to the cent, the maximum."""
    if amount <= 0:
        return "The amount must be more than $0."
    if amount != amount.quantize(Decimal("0.01")):
        return "Amounts go to the cent, like $95.50."
    if amount > practice.max_amount:
        return (
            f"{money(amount)} is more than this practice's maximum of {money(practice.max_amount)}."
        )
    return None


def _edit(
    s: Session,
    clinician: Clinician,
    public_id: str,
    form: EditForm,
    practice: Practice,
    now: datetime,
) -> Done:
    """Apply the one-screen form: every change said (old and new; the participant's
    details only named, they are private), the participant told once of what concerns
    them, fresh reminders when the time moved."""
    session = repos.session_for_clinician(s, clinician.id, public_id, lock=True)
    if session is None or session.status == "cancelled":
        return NOT_FOUND
    tz = clinician_zone(clinician, practice)
    cents_now = None if form.amount is None else int(form.amount * 100)
    said: list[str] = []
    if form.start != session.start_at:
        said.append(f"time {when(session.start_at, tz)} → {when(form.start, tz)}")
    if form.participant != session.participant:
        said.append("the participant's name")
    if form.invite_channel != session.invite_channel:
        old, new = Channel.said_of(session.invite_channel), form.invite_channel.said
        said.append(f"invitation {old} → {new}")
    if form.email != session.email and form.email:
        said.append("the e-mail address")
    if form.phone != session.phone and form.phone:
        said.append("the phone number")
    if form.participant_tz != session.participant_tz:
        said.append(f"their zone {session.participant_tz} → {form.participant_tz}")
    if form.documents != session.documents:
        said.append(f"documents {session.documents or 'none'} → {form.documents or 'none'}")
    paying = (form.service, cents_now) != (session.service, session.amount_cents)
    if paying:
        if session.payment_status in ("paid", "partially_refunded"):
            return Done(
                "The session is already paid, so its service and amount stay as they are. "
                "Nothing was changed.",
                changed=False,
            )
        old = money(Decimal(session.amount_cents) / 100) if session.amount_cents else "none"
        new = money(form.amount) if form.amount is not None else "none"
        said.append(f"payment {session.service or 'none'} {old} → {form.service or 'none'} {new}")
    if not said:
        return Done("Nothing changed: every field is as it was.", changed=False)
    moved = form.start != session.start_at
    same_channel = form.invite_channel == session.invite_channel
    # What the participant hears of: the time, how and where they are reached, their
    # zone, the documents (a new name or a new price alone is not worth a message).
    for_participant = moved or any(
        getattr(form, name) != getattr(session, name)
        for name in ("invite_channel", "email", "phone", "participant_tz", "documents")
    )
    changed = _changed_fields(session, form, cents_now)
    told = booking.invitation_left(s, session)
    told_by = (Channel.invitation(session.invite_channel) if told else None) or Channel.NONE
    told_at = booking.address_on(session, told_by)
    session.participant = form.participant
    session.invite_channel = form.invite_channel
    session.email, session.phone = form.email, form.phone
    session.phone_index = booking.phone_index(form.phone)
    session.participant_tz = form.participant_tz
    session.documents = form.documents
    if paying:
        session.service, session.amount_cents = form.service, cents_now
        session.duration_min = practice.duration_for(form.service)
        session.payment_ref = None  # the next Pay Now makes a Checkout for the new amount
        session.payment_status = "pending" if form.amount is not None else "not_required"
    text = f"Updated the session with {initials(form.participant)}: " + "; ".join(said) + "."
    if moved or for_participant:
        booking.withdraw_pending(s, session)
        session.start_at = form.start
        session.sequence += 1
        if moved:
            session.rsvp = None
        if session.invite_channel == Channel.NONE:
            session.invite_status = "not_sent"
            text += _told_before(s, session, told_by, told_at, moved, now)
        else:
            same_way = same_channel and told
            session.invite_status = "queued"
            booking.plan_messages(
                s, session, practice, now, first="update" if same_way else "invitation"
            )
            text += (
                " The participant will get an update."
                if same_way
                else (" The participant will get the invitation.")
            )
            if not same_channel:
                text += _told_before(s, session, told_by, told_at, moved, now)
    repos.upsert_contact(
        s,
        clinician.id,
        name=form.participant,
        invite_channel=form.invite_channel,
        email=form.email,
        phone=form.phone,
        participant_tz=form.participant_tz,
    )
    audit.session_event(s, session, "session_changed", fields=changed)
    if form.note:
        text += f" {form.note}"
    return Done(text, changed=True)


def _changed_fields(session: ScheduledSession, form: EditForm, cents: int | None) -> list[str]:
    """The names of the session's fields the form changes (the audit's; never values)."""
    wanted = {
        "start_at": form.start, "participant": form.participant,
        "invite_channel": form.invite_channel, "email": form.email, "phone": form.phone,
        "participant_tz": form.participant_tz, "documents": form.documents,
        "service": form.service, "amount_cents": cents,
    }  # fmt: skip
    return [name for name, value in wanted.items() if getattr(session, name) != value]


EDIT_STATE = (
    "start_at", "participant", "invite_channel", "email", "phone", "participant_tz",
    "documents", "service", "amount_cents",
)  # fmt: skip


def edit(
    s: Session,
    clinician: Clinician,
    public_id: str,
    form: EditForm,
    practice: Practice,
    now: datetime,
) -> Done:
    """Apply the one-screen form (see `_edit`); the same form twice is done once."""
    # Hashed with a key before it is stored: the fields name people.
    wanted = _edit_state(form)
    args = repr(astuple(form))

    def holds() -> bool:
        found = repos.session_for_clinician(s, clinician.id, public_id)
        return found is not None and tuple(getattr(found, n) for n in EDIT_STATE) == wanted

    return once(
        s, clinician.id, "edit", public_id, args, now,
        lambda: _edit(s, clinician, public_id, form, practice, now), holds,
    )  # fmt: skip


def _edit_state(form: EditForm) -> tuple[object, ...]:
    """The session's fields as the form would leave them (in `EDIT_STATE`'s order)."""
    cents = None if form.amount is None else int(form.amount * 100)
    return (
        form.start, form.participant, form.invite_channel, form.email, form.phone,
        form.participant_tz, form.documents, form.service, cents,
    )  # fmt: skip


def _told_before(
    s: Session,
    session: ScheduledSession,
    told_by: Channel,
    address: str | None,
    moved: bool,
    now: datetime,
) -> str:
    """A participant already invited one way, now invited another way or not at all: a
    new time still reaches them once the way they were told (their calendar entry must
    not keep the old one), so the address they were told at is kept for it; after that,
    and for any other change, nothing more goes that way."""
    if told_by is Channel.NONE:
        return ""
    by = told_by.said
    invited_now = session.invite_channel != Channel.NONE
    if not moved:
        return (
            ""
            if invited_now
            else f" They were invited by {by}; that invitation stands, with no reminders."
        )
    if not address:
        return (
            ""
            if invited_now
            else (
                f" They were invited by {by} for the old time and sessionbot will not tell them "
                "of the new one: please let them know."
            )
        )
    if told_by.address == "email":
        session.email = address
    else:
        session.phone, session.phone_index = address, booking.phone_index(address)
    session.invite_status = "queued"
    booking.queue(
        s, session, "update", due_at=now, key=f"update:{told_by}:{session.sequence}",
        channel=told_by,
    )  # fmt: skip
    if invited_now:
        return f" They were invited by {by} before, so the new time goes there once too."
    return f" They were invited by {by}, so the new time goes to them there once, then nothing."


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
