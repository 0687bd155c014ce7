"""The scheduling rules' front door: one call, one transaction, for every face.

Slack, the command line, the participant's page, the webhooks, the worker and the
conversation's actions ask the `Scheduler` (held in the process's parts) to book, cancel,
move, repeat, remind, edit, list and queue. Each call opens its own unit of work, finds
the acting clinician, runs the rule in `scheduling.commands` / `scheduling.booking` and
commits what it did with it, or nothing. A face never opens a transaction of its own for
these, and never reads the store to decide a rule.

`once` is a face's idempotency key (a Slack action's timestamp, a modal's view id): a
call whose key was seen already returns None and does nothing, in the same transaction
as the work, so a retried request can neither do it twice nor lose it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ground.formatting import initials, when
from ground.practice import Practice
from ground.session import SessionSpec
from scheduling import (
    agendas,
    booking,
    calendar_link,
    clashes,
    commands,
    daily,
    dashboards,
    editing,
    erasure,
    hours,
    page_requests,
    payments_in,
    practice_admin,
    queue,
    refunding,
    refunds,
    results,
    roles,
    series_plans,
    sms_consent,
    texts_in,
    views,
)
from scheduling import page as pages
from scheduling.agendas import Agenda
from scheduling.dashboards import DashboardPage
from scheduling.editing import EditForm
from scheduling.page import HostRoom, PageSession, PayClaim
from scheduling.recurrence import Recurrence
from scheduling.results import Done
from scheduling.starts import StartCheck, check_aware_start, check_start
from store import audit, claim_rows, clinician_rows, session_rows, slack_rows
from store import roles as store_roles
from store.db import Store
from store.models import Clinician, ScheduledSession

STAFF_ROLE = "staff_role"  # the role a staff member acts under in this unit


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who asks: a clinician of a workspace (Slack's team and user ids, or the CLI's)."""

    team: str
    user: str
    tz: str | None = None  # their zone as Slack gave it; stored when given
    # The clinician acted for by a staff member (`user`: a scheduler, supervisor or admin,
    # scheduling/roles.py); None: the user acts for themself.
    for_user: str | None = None

    @property
    def clinician_user(self) -> str:
        return self.for_user or self.user

    @property
    def staff(self) -> bool:
        return self.for_user is not None and self.for_user != self.user


@dataclass(frozen=True)
class Booked:
    """A saved session as the faces say it."""

    public_id: str
    created: bool  # False: the same draft was saved before (a second Save)
    enter_meeting_url: str
    participant_url: str


@dataclass(frozen=True)
class Moved:
    done: Done
    check: StartCheck
    overlap: str | None  # what the new time overlaps, in words, when it moved


@dataclass(frozen=True)
class RefundState:
    asks: bool  # the session is paid and still live: cancelling it asks what to refund
    state: str | None  # scheduling/refunds.py: pending, made, failed, kept; None: none chosen
    words: str  # where it stands, for the clinician


@dataclass(frozen=True)
class SessionForm:
    """A session as a form to move or edit it shows it."""

    public_id: str
    start: datetime
    tz: str  # the clinician's zone
    text: str  # the words above the form
    session: ScheduledSession  # read-only, detached after the call


class Scheduler:
    def __init__(
        self,
        store: Store,
        practice: Practice,
        public_url: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.practice = practice
        self.public_url = public_url
        self.clock = clock

    @contextmanager
    def _acting(
        self, who: Actor, once: str | None = None, *, reads: bool = False
    ) -> Iterator[tuple[Session, Clinician]]:
        """The unit and the clinician acted for. A staff member (`who.for_user`) must hold
        a role over that clinician that allows the call (`reads`: it changes nothing);
        else `roles.Refused` is raised after the refusal's audit row is committed."""
        refused: roles.Refused | None = None
        with self.store.unit() as s:
            if once is not None and not claim_rows.first_time(s, once):
                raise _Repeated
            if not who.staff:
                yield s, clinician_rows.get_clinician(s, who.team, who.user, tz=who.tz)
                return
            role, refused = roles.permit(
                s, who.team, who.user, who.clinician_user, changes=not reads
            )
            if refused is None:
                s.info[STAFF_ROLE] = role
                audit.acting_as(s, audit.staff(who.team, who.user))
                try:
                    yield s, clinician_rows.get_clinician(s, who.team, who.clinician_user)
                finally:
                    s.info.pop(STAFF_ROLE, None)
        if refused is not None:
            raise refused

    def _run(
        self, who: Actor, once: str | None, rule: Callable[[Session, Clinician], Done]
    ) -> Done | None:
        try:
            with self._acting(who, once) as (s, clinician):
                return rule(s, clinician)
        except _Repeated:
            return None

    def may_act(self, who: Actor) -> None:
        """Raise `roles.Refused` (audited) unless `who` may change the sessions of the
        clinician acted for (always, for their own)."""
        with self._acting(who):
            pass

    # Roles (scheduling/roles.py); `by` None: the command line's operator -----------------

    def grant_role(
        self, team: str, user: str, role: str, clinicians: list[str], *, by: str | None = None
    ) -> list[str]:
        with self.store.unit() as s:
            try:
                return roles.grant(s, team, user, role, clinicians, by=by)
            except roles.Refused as exc:  # its audit row commits with this unit
                refused = exc
        raise refused

    def revoke_role(
        self, team: str, user: str, role: str, clinicians: list[str], *, by: str | None = None
    ) -> int:
        with self.store.unit() as s:
            try:
                return roles.revoke(s, team, user, role, clinicians, by=by)
            except roles.Refused as exc:  # its audit row commits with this unit
                refused = exc
        raise refused

    def roles_held(self, team: str | None = None) -> list[store_roles.Held]:
        with self.store.reading() as s:
            return store_roles.held(s, team)

    def practice_roles(self, team: str, by: str) -> list[practice_admin.Holding]:
        """The roles held in `team`, for its admin `by` (else `roles.Refused`, audited)."""
        with self.store.unit() as s:
            try:
                return practice_admin.holdings(s, team, by)
            except roles.Refused as exc:  # its audit row commits with this unit
                refused = exc
        raise refused

    def audit_trail(
        self,
        *,
        team: str | None = None,
        by: str | None = None,
        session: str | None = None,
        user: str | None = None,
        since: datetime | None = None,
        limit: int = 10_000,
        newest: bool = False,
    ) -> list[practice_admin.AuditLine] | None:
        """The audit trail (scheduling/practice_admin.py `trail`): for the operator (`by`
        None, every practice unless `team`) or an admin of `team` (checked, recorded)."""
        with self.store.unit() as s:
            try:
                return practice_admin.trail(
                    s, team=team, by=by, session=session, user=user, since=since,
                    limit=limit, newest=newest,
                )  # fmt: skip
            except roles.Refused as exc:  # its audit row commits with this unit
                refused = exc
        raise refused

    def verify_audit(self) -> audit.Verdict:
        """Whether the audit's hash chain is intact (store/audit.py `verify`)."""
        with self.store.reading() as s:
            return audit.verify(s)

    def is_admin(self, team: str, user: str) -> bool:
        with self.store.reading() as s:
            return store_roles.is_admin(s, team, user)

    def slack_known(self, team: str, user: str) -> tuple[str | None, str | None]:
        """The zone and the DM channel stored for a Slack user (None, None: never seen);
        a read, made nowhere."""
        with self.store.reading() as s:
            return clinician_rows.slack_known(s, team, user)

    def acting_for(self, team: str, user: str) -> str | None:
        """The clinician a staff member works for in Slack now (None: themself)."""
        with self.store.reading() as s:
            return store_roles.acting_for(s, team, user)

    def act_for(self, who: Actor, *, reads: bool = False) -> None:
        """From now on `who.user` works for `who.for_user` in Slack (None: for themself),
        once their role allows it (`reads`: only to read); else `roles.Refused`, audited,
        and they work for themself again."""
        if who.staff:
            try:
                with self._acting(who, reads=reads) as (s, _clinician):
                    store_roles.set_acting_for(s, who.team, who.user, who.for_user)
                return
            except roles.Refused:
                with self.store.unit() as s:
                    store_roles.set_acting_for(s, who.team, who.user, None)
                raise
        with self.store.unit() as s:
            store_roles.set_acting_for(s, who.team, who.user, None)

    def first_admin(self, team: str, user: str) -> bool:
        """`user` becomes the practice's first admin when it has none."""
        with self.store.unit() as s:
            return roles.first_admin(s, team, user)

    # Reading ------------------------------------------------------------------------------

    def zone(self, who: Actor) -> str:
        """The clinician's zone: their own, else the practice's."""
        with self._acting(who, reads=True) as (_, clinician):
            return results.clinician_zone(clinician, self.practice)

    def contacts(self, who: Actor, query: str, limit: int = 50) -> list[tuple[int, str]]:
        """The clinician's contacts whose names match `query`: (id, name)."""
        with self._acting(who) as (s, clinician):
            return [
                (c.id, c.name) for c in clinician_rows.find_contacts(s, clinician.id, query, limit)
            ]

    def dashboard(self, who: Actor, page: int = 0, *, size: int = 5) -> DashboardPage:
        with self._acting(who, reads=True) as (s, clinician):
            found = dashboards.dashboard(
                s, clinician, page, self.clock(), self.practice, self.public_url, size=size
            )
            # Whoever looks (a staff member too) sees the practice's admin section if theirs.
            return replace(found, admin=store_roles.is_admin(s, who.team, who.user))

    def agenda(self, who: Actor, day: date | None = None) -> Agenda:
        """The clinician's sessions of `day` (default: today in their zone)."""
        with self._acting(who, reads=True) as (s, clinician):
            if day is None:
                tz = ZoneInfo(results.clinician_zone(clinician, self.practice))
                day = self.clock().astimezone(tz).date()
            return agendas.agenda(s, clinician, day, self.practice, self.public_url)

    def sessions(
        self, who: Actor, *, include_past: bool = False, limit: int = 10_000, export: bool = False
    ) -> tuple[list[ScheduledSession], str]:
        """The clinician's sessions, upcoming only unless `include_past` (then cancelled
        ones too), read-only; and their zone. `export`: the participants' details leave the
        database (`sessions --json`), a disclosure the audit records."""
        with self._acting(who, reads=True) as (s, clinician):
            if export:
                audit.record(
                    s,
                    actor=audit.staff(who.team, who.user),
                    action="sessions_exported",
                    for_clinician=audit.staff(who.team, who.clinician_user),
                )
            rows = session_rows.list_sessions(
                s,
                clinician.id,
                after=None if include_past else self.clock(),
                include_cancelled=include_past,
                limit=limit,
            )
            if s.info.get(STAFF_ROLE) == roles.SUPERVISOR:
                roles.redact(s, rows)
            return rows, results.clinician_zone(clinician, self.practice)

    def form(self, who: Actor, public_id: str) -> SessionForm | None:
        """The session to move or edit and the words above its form; None when it is not
        one of theirs or cannot be changed."""
        with self._acting(who) as (s, clinician):
            found = commands.reschedule_prompt(s, clinician, public_id, self.practice)
            if found is None:
                return None
            session, text = found
            tz = results.clinician_zone(clinician, self.practice)
            return SessionForm(public_id, session.start_at, tz, text, session)

    def move_overlap(self, who: Actor, public_id: str, start: datetime) -> str | None:
        """What moving the session to `start` would overlap, in words (None: nothing)."""
        with self._acting(who) as (s, clinician):
            return clashes.move_overlap(s, clinician, public_id, start, self.practice)

    # Changing -----------------------------------------------------------------------------

    def book(self, who: Actor, spec: SessionSpec) -> Booked:
        """Save a session once per draft (a second Save finds the first)."""
        with self._acting(who) as (s, clinician):
            session, created = booking.book(s, clinician, spec, self.practice, self.clock())
            if created and who.staff:  # the clinician hears who booked what
                tz = results.clinician_zone(clinician, self.practice)
                booking.notify_clinician(
                    s,
                    clinician.id,
                    roles.booked_notice(who.user, session, tz),
                    dedupe_key=f"booked-for:{session.public_id}",
                    now=self.clock(),
                    session_id=session.id,
                )
            return Booked(
                session.public_id,
                created,
                booking.enter_meeting_url(self.public_url, session),
                booking.participant_url(self.public_url, session),
            )

    def cancel(
        self,
        who: Actor,
        public_id: str,
        *,
        series: bool = False,
        refund: str | None = None,
        once: str | None = None,
    ) -> Done | None:
        """Cancel a session (with `series`, it and the following ones of its series). A paid
        one needs `refund` (scheduling/refunds.py); without it nothing changes and the
        answer asks. The refund itself is made after the commit (sessionbot/refunds.py)."""

        def rule(s: Session, clinician: Clinician) -> Done:
            if series:
                return commands.cancel_series(s, clinician, public_id, self.practice, self.clock())
            return commands.cancel(
                s, clinician, public_id, self.practice, self.clock(), refund=refund
            )

        return self._run(who, once, rule)

    def refund_state(self, who: Actor, public_id: str) -> RefundState | None:
        """Where a cancelled session's refund stands, as the clinician is told it; None
        when the session is not one of theirs."""
        with self._acting(who, reads=True) as (s, clinician):
            session = session_rows.session_for_clinician(s, clinician.id, public_id)
            if session is None:
                return None
            return RefundState(
                asks=refunds.offer(session, self.practice, self.clock()) is not None,
                state=session.refund_state,
                words=refunds.outcome_words(session, self.practice),
            )

    def refund_offer(self, who: Actor, public_id: str) -> tuple[refunds.Offer, str] | str:
        """What cancelling a paid session offers, with the words above the choice; or why
        there is nothing to choose (cancelled, not theirs, nothing left to refund)."""
        with self._acting(who, reads=True) as (s, clinician):
            session = session_rows.session_for_clinician(s, clinician.id, public_id)
            if session is None or session.status == "cancelled":
                return "That session is already cancelled, or isn't among yours."
            offer = refunds.offer(session, self.practice, self.clock())
            if offer is None:
                return (
                    "That session has no payment left to refund; cancel it with the "
                    "dashboard's Cancel again."
                )
            tz = results.clinician_zone(clinician, self.practice)
            start, person = when(session.start_at, tz), initials(session.participant)
            return (
                offer,
                f"Cancel the session with {person} on {start}? The participant will be told.",
            )

    def calendar_link(self, who: Actor, *, rotate: bool, seen: str) -> tuple[str, str]:
        """The clinician's calendar feed link, in words, and its fingerprint; `rotate`: a new
        link (the old one stops at once), once per `seen` fingerprint (a double click)."""
        with self._acting(who) as (s, clinician):
            if rotate:
                done, fingerprint = calendar_link.rotate(
                    s, clinician, self.public_url, seen, self.clock()
                )
            else:
                done, fingerprint = calendar_link.show(s, clinician, self.public_url)
            return done.text, fingerprint

    def retry_refund(self, who: Actor, public_id: str) -> str | None:
        """Make a refused refund pending again (a new attempt); None when it may be made,
        else why not."""
        with self._acting(who) as (s, clinician):
            found, why = refunds.retry(s, clinician, public_id, self.practice, self.clock())
            return None if found is not None else why or "Nothing to retry."

    def reschedule(
        self, who: Actor, public_id: str, check: StartCheck, *, once: str | None = None
    ) -> Done | None:
        """Move a session to the start `check` found (or say why not)."""
        return self._run(
            who,
            once,
            lambda s, c: commands.reschedule(s, c, public_id, check, self.practice, self.clock()),
        )

    def move(
        self, who: Actor, public_id: str, wanted: datetime, *, once: str | None = None
    ) -> Moved | None:
        """Move a session to `wanted`: a wall time in the clinician's zone when it has no
        offset (the same rule as Slack's form), else that instant; what it overlaps is said
        with it."""
        try:
            with self._acting(who, once) as (s, clinician):
                now = self.clock()
                if wanted.tzinfo is None:
                    zone = results.clinician_zone(clinician, self.practice)
                    check = check_start(
                        wanted.date(), wanted.hour, wanted.minute, zone, now, self.practice
                    )
                else:
                    check = check_aware_start(wanted, now, self.practice)
                overlap = None
                if check.start is not None:  # said with the move; the clinician may mean it
                    overlap = clashes.move_overlap(
                        s, clinician, public_id, check.start, self.practice
                    )
                done = commands.reschedule(s, clinician, public_id, check, self.practice, now)
                return Moved(done, check, overlap if done.changed else None)
        except _Repeated:
            return None

    def schedule_next(
        self, who: Actor, public_id: str, weeks: int, *, draft_id: str, once: str | None = None
    ) -> Done | None:
        """A new session `weeks` later at the same wall time."""
        return self._run(
            who,
            once,
            lambda s, c: commands.schedule_next(
                s, c, public_id, weeks, self.practice, self.clock(), draft_id=draft_id
            ),
        )

    def remind(self, who: Actor, public_id: str, *, once: str | None = None) -> Done | None:
        """A reminder to the participant now."""
        return self._run(
            who,
            once,
            lambda s, c: commands.remind_now(s, c, public_id, self.practice, self.clock()),
        )

    def edit(
        self, who: Actor, public_id: str, form: EditForm, *, once: str | None = None
    ) -> Done | None:
        """Apply the one-screen Edit form."""
        return self._run(
            who,
            once,
            lambda s, c: editing.edit(s, c, public_id, form, self.practice, self.clock()),
        )

    # Participants' requests for another time (scheduling/page_requests.py) ------------------

    def requests(
        self, who: Actor, *, everything: bool = False
    ) -> tuple[list[page_requests.Listed], str]:
        """The clinician's open requests (all with `everything`), and their zone."""
        with self._acting(who) as (s, clinician):
            found = page_requests.listed(s, clinician, everything=everything)
            return found, results.clinician_zone(clinician, self.practice)

    def accept_request(
        self, who: Actor, request_id: int, number: int, *, once: str | None = None
    ) -> Done | None:
        """Move the session to the request's time `number` (1-based)."""
        return self._run(
            who,
            once,
            lambda s, c: page_requests.accept(
                s, c, request_id, number, self.practice, self.clock()
            ),
        )

    def decline_request(
        self, who: Actor, request_id: int, *, once: str | None = None
    ) -> Done | None:
        """Keep the session; the participant is told."""
        return self._run(
            who,
            once,
            lambda s, c: page_requests.decline(s, c, request_id, self.practice, self.clock()),
        )

    def set_agenda(self, who: Actor, at: str | None) -> Done:
        """The morning agenda DM at `at` ('HH:MM', their zone), or off."""
        with self._acting(who) as (s, clinician):
            return agendas.set_agenda(s, clinician, at)

    # Working hours ------------------------------------------------------------------------

    def own_hours(self, who: Actor) -> tuple[str | None, str]:
        """The clinician's own hours spec (None: the practice's apply) and the hours in words."""
        with self._acting(who, reads=True) as (_s, clinician):
            return clinician.working_hours, hours.show_hours(clinician, self.practice)

    def set_hours(self, who: Actor, text: str) -> Done:
        """Their own working hours, stored once read (else said back, nothing changed);
        an empty text clears them (the practice's apply)."""
        with self._acting(who) as (_s, clinician):
            if not text.strip():
                return hours.clear_hours(clinician, self.practice)
            return hours.set_hours(clinician, text, self.practice)

    def hours_question(self, who: Actor, start: datetime) -> str | None:
        """The question for a new start outside their working hours (None: inside, or no
        hours apply): asked by the forms before they move anything."""
        with self._acting(who) as (_s, clinician):
            return hours.start_question(clinician, start, self.practice, self.clock())

    def edit_hours_question(self, who: Actor, public_id: str, start: datetime) -> str | None:
        """As `hours_question`, only when the Edit form moves the session's start."""
        with self._acting(who) as (s, clinician):
            session = session_rows.session_for_clinician(s, clinician.id, public_id)
            if session is None or session.start_at == start:
                return None
            return hours.start_question(clinician, start, self.practice, self.clock())

    def sms_consent_needed(self, phone: str | None) -> bool:
        """`sms_consent = "ask"` and no Yes recorded for this number: it is asked."""
        with self.store.reading() as s:
            return sms_consent.needs_asking(s, self.practice, phone)

    def record_sms_consent(self, who: Actor, phone: str, agreed: bool) -> None:
        """The answer for the number, with the time and who recorded it (`who.user`: the
        clinician, or the staff member booking for them; audited)."""
        with self._acting(who) as (s, _clinician):
            actor = audit.staff(who.team, who.user)
            sms_consent.record_answer(s, actor, phone, agreed, self.clock())

    # The worker's daily jobs and the operator's retention -------------------------------

    def plan_day(self, now: datetime) -> int:
        """Queue the clinicians' morning agendas and pre-session nudges due at `now`."""
        with self.store.unit() as s:
            return daily.plan_day(s, now, self.practice, self.public_url)

    def apply_retention(self, now: datetime, *, once: str | None = None) -> Counter[str] | None:
        """Erase what the practice keeps no longer (counts); None when `once` (a day's
        key, across every worker) was taken already."""
        with self.store.unit() as s:
            if once is not None and not claim_rows.first_time(s, once):
                return None
            return erasure.retention(s, self.practice, now)

    def forget(
        self,
        now: datetime,
        *,
        phone: str | None = None,
        email: str | None = None,
        contact_id: int | None = None,
        team: str | None = None,
        user: str | None = None,
        cancel_upcoming: bool = False,
    ) -> erasure.Forgotten | None:
        """Erase a person (scheduling/erasure.py `forget_asked`); None: no such clinician."""
        with self.store.unit() as s:
            return erasure.forget_asked(
                s, self.practice, now, phone=phone, email=email, contact_id=contact_id,
                team=team, user=user, cancel_upcoming=cancel_upcoming,
            )  # fmt: skip

    # page helper: the participant's page, the clinician's Enter Meeting and the webhooks --
    # (scheduling/page.py, payments_in.py, texts_in.py); `token`: a participant's link.

    def page_session(self, token: str, *, disclosed: str | None = None) -> PageSession | None:
        """The session as the link shows it; `disclosed`: the audit action of showing it."""
        with self.store.unit() as s:
            return pages.load(s, token, self.practice, disclosed=disclosed)

    def page_asks(self, token: str) -> page_requests.PageAsks:
        with self.store.unit() as s:
            return pages.asks(s, token, self.practice, self.clock())

    def page_rsvp(self, token: str, answer: str) -> None:
        with self.store.unit() as s:
            pages.rsvp(s, token, answer, self.practice, self.clock())

    def page_documents(self, token: str) -> None:
        with self.store.unit() as s:
            pages.confirm_documents(s, token, self.clock())

    def page_ask(self, token: str, typed: list[tuple[str, str]]) -> list[str] | None:
        with self.store.unit() as s:
            return pages.ask(s, token, typed, self.practice, self.clock())

    def page_cancel(self, token: str) -> bool | None:
        with self.store.unit() as s:
            return pages.cancel(s, token, self.practice, self.clock())

    def page_entered(self, token: str) -> None:
        with self.store.unit() as s:
            pages.entered(s, token, self.practice, self.clock())

    def host_room(self, host_token: str) -> HostRoom | None:
        with self.store.unit() as s:
            return pages.host_room(s, host_token, self.practice)

    def host_entered(self, room: HostRoom) -> None:
        with self.store.unit() as s:
            pages.host_entered(s, room)

    def claim_pay(self, seen: PageSession) -> PayClaim:
        """Pay Now's claim, in a unit of its own (Stripe is called outside any)."""
        with self.store.unit() as s:
            return pages.claim_pay(s, seen, self.clock())

    def settle_pay(self, claimed: PayClaim, url: str | None) -> None:
        with self.store.unit() as s:
            pages.settle_pay(s, claimed, url)

    def remember_checkout(self, token: str, checkout_id: str) -> None:
        with self.store.unit() as s:
            pages.remember_checkout(s, token, checkout_id, payments_in.UNPAID)

    def checkout_returned(self, public_id: str, checkout: payments_in.Checkout) -> bool:
        with self.store.unit() as s:
            return payments_in.record_return(s, public_id, checkout, self.practice, self.clock())

    def checkout_event(self, event_id: str, kind: str, checkout: payments_in.Checkout) -> str:
        if kind not in payments_in.CHECKOUT_EVENTS:
            return "ignored"
        with self.store.unit() as s:
            return payments_in.checkout_event(
                s, event_id, kind, checkout, self.practice, self.clock()
            )

    def refund_event(self, event_id: str, refund: payments_in.Refund) -> str:
        with self.store.unit() as s:
            return payments_in.refund_event(s, event_id, refund, self.practice, self.clock())

    def text_received(self, phone: str, body: str, sid: str) -> texts_in.Reply | None:
        with self.store.unit() as s:
            return texts_in.received(s, self.practice, phone, body, sid, self.clock())

    def text_language(self, phone: str) -> str:
        with self.store.reading() as s:
            return texts_in.language(s, self.practice, phone, self.clock())

    def text_delivery(self, sid: str, status: str, code: str) -> None:
        with self.store.unit() as s:
            texts_in.delivery(s, self.practice, sid, status, code, self.clock())

    def refund_to_make(self, public_id: str) -> refunding.ToMake | refunding.Standing:
        """A pending refund as Stripe is to be asked for it, or where it stands."""
        with self.store.unit() as s:
            return refunding.to_make(s, public_id, self.practice)

    def refund_outcome(
        self, public_id: str, attempt: int, outcome: refunding.Outcome, now: datetime, *, tell: bool
    ) -> refunding.Standing:
        with self.store.unit() as s:
            return refunding.write_outcome(
                s, public_id, attempt, outcome, self.practice, now, tell=tell
            )

    def pending_refunds(self) -> list[str]:
        """Public ids of cancelled sessions whose chosen refund is not made yet (a batch)."""
        with self.store.unit() as s:
            return session_rows.pending_refunds(s)

    # actions helper: what the conversation's actions read and change --------------------
    # A read here never makes a clinician (`_viewing`); its actor is the conversation's
    # sender (a staff member's reads need the role to book for the clinician).

    @contextmanager
    def _viewing(self, who: Actor | None) -> Iterator[tuple[Session, Clinician | None]]:
        with self.store.reading() as s:
            found = (
                None
                if who is None
                else views.conversation_clinician(s, who.team, who.user, who.for_user)
            )
            yield s, found

    def conversation_for(self, who: Actor) -> str | None:
        """The clinician `who`'s conversation acts for (a staff member: only while they
        may book for them); None: nobody."""
        with self.store.reading() as s:
            return views.conversation_user(s, who.team, who.user, who.for_user)

    def clinician_view(self, who: Actor | None) -> views.ClinicianView:
        """Their zone and working hours (the practice's for someone not met yet)."""
        with self._viewing(who) as (_s, clinician):
            return views.clinician_view(clinician, self.practice)

    def recent_contacts(self, who: Actor | None, limit: int = 5) -> list[tuple[int, str]]:
        """The clinician's most recently used contacts: (id, name)."""
        with self._viewing(who) as (s, clinician):
            if clinician is None:
                return []
            return [
                (c.id, c.name) for c in clinician_rows.find_contacts(s, clinician.id, "", limit)
            ]

    def contact_by_id(self, who: Actor | None, contact_id: int) -> views.ContactView | None:
        with self._viewing(who) as (s, clinician):
            found = clinician_rows.contact_by_id(s, clinician.id, contact_id) if clinician else None
            return views.contact_view(found) if found else None

    def contact_named(self, who: Actor | None, name: str) -> views.ContactView | None:
        with self._viewing(who) as (s, clinician):
            found = clinician_rows.contact_by_name(s, clinician.id, name) if clinician else None
            return views.contact_view(found) if found else None

    def known_contact(self, who: Actor | None, names: list[str]) -> str | None:
        """The first of `names` naming one of their contacts, as given (None: none)."""
        with self._viewing(who) as (s, clinician):
            return views.known_name(s, clinician, names) if clinician else None

    def upcoming(self, who: Actor | None, limit: int = 10) -> views.Upcoming | None:
        """Their first `limit` upcoming sessions and the count (None: not met yet)."""
        with self._viewing(who) as (s, clinician):
            return views.upcoming(s, clinician, self.clock(), limit) if clinician else None

    def cancel_choices(
        self, who: Actor | None, *, at: time | None, day: date | None, participant: str | None
    ) -> list[views.CancelChoice] | None:
        """The upcoming sessions a "cancel my 3pm" names (None: not met yet)."""
        with self._viewing(who) as (s, clinician):
            if clinician is None:
                return None
            now = self.clock()
            found = views.sessions_said(
                s, clinician, self.practice, now, at=at, day=day, participant=participant
            )
            return [views.cancel_choice(x, clinician, self.practice, now) for x in found]

    def cancel_choice(self, who: Actor | None, public_id: str) -> views.CancelChoice | None:
        with self._viewing(who) as (s, clinician):
            found = (
                session_rows.session_for_clinician(s, clinician.id, public_id)
                if clinician
                else None
            )
            if clinician is None or found is None:
                return None
            return views.cancel_choice(found, clinician, self.practice, self.clock())

    def draft_week(
        self, who: Actor | None, draft: SessionSpec, wanted: Recurrence | None
    ) -> series_plans.DraftWeek | None:
        """The series a draft asks for, or what its one session overlaps (None: nobody)."""
        with self._viewing(who) as (s, clinician):
            if clinician is None:
                return None
            return series_plans.draft_week(s, clinician, wanted, draft, self.practice, self.clock())

    def book_series(
        self, who: Actor, draft: SessionSpec, wanted: Recurrence
    ) -> series_plans.SeriesSaved | str:
        """Save the series the summary showed, whole, or say why not (nothing stored)."""
        with self._acting(who) as (s, clinician):
            return series_plans.save_draft_series(
                s, clinician, wanted, draft, self.practice, self.public_url, self.clock()
            )

    # --- types-d ---

    def calendar_feed(self, who: Actor, *, rotate: bool) -> str:
        """The clinician's calendar feed link in words, made on first use, as the terminal
        shows it; `rotate`: a new link in place of the current one (none before: the one
        just made is the new link)."""
        with self._acting(who) as (s, clinician):
            done, seen = calendar_link.show(s, clinician, self.public_url)
            if rotate and not done.changed:
                done, _ = calendar_link.rotate(s, clinician, self.public_url, seen, self.clock())
            return done.text

    def outbox_lines(
        self, statuses: tuple[str, ...] | None, limit: int = 1000
    ) -> list[queue.OutboxLine]:
        """The outbox's messages with one of `statuses` (None: every one), due first."""
        with self.store.reading() as s:
            return queue.lines(s, statuses, limit)

    def installed(self, team: str, user: str | None) -> None:
        """The Slack app was installed (again) into `team` by `user`: notices are posted
        there again, and the installer is the practice's first admin when it has none."""
        with self.store.unit() as s:
            slack_rows.clear_slack_revocation(s, team)
            if user:
                roles.first_admin(s, team, user)


class _Repeated(Exception):
    """The face's idempotency key was seen: nothing is done again."""
