"""The page's "Ask for another time" and "Cancel": form POSTs under the page's token, with
its HMAC form field and Origin check (`Page.checked_form`) and its throttle (the routes
under /j/ are guarded in web/routes.py). The rules are in scheduling/page_requests.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ground.formatting import when, zone_label
from scheduling import page_requests as rules
from store import session_rows
from store.models import ScheduledSession
from web import access

if TYPE_CHECKING:
    from web.routes import Page

TIME_FIELDS = tuple((f"date{n}", f"time{n}") for n in range(1, rules.MAX_TIMES + 1))


def now() -> datetime:
    return datetime.now(UTC)


class PageRequests:
    """The handlers, over the page's own (its responses, its form check, its store)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.parts = page.parts

    def state(self, session: ScheduledSession) -> rules.PageAsks:
        """What the page shows of asking and cancelling (read in the thread pool)."""
        with self.parts.store.unit() as s:
            return rules.page_state(s, session, self.parts.practice, now())

    async def ask(self, request: Request) -> Response:
        session, form, refused = await self.page.checked_form(request)
        if refused or session is None:
            return refused or self.page.not_found()
        token = request.path_params["token"]
        typed = [(form.get(d, "")[:20], form.get(t, "")[:20]) for d, t in TIME_FIELDS]
        problems = await run_in_threadpool(self.record_ask, token, typed)
        if problems is None:
            return self.page.redirect(f"/j/{token}?m=asked")
        if not problems:  # begun (or cancelled) meanwhile: the page says what it offers
            return self.page.redirect(f"/j/{token}")
        fresh = await run_in_threadpool(self.page.load, token) or session
        asks = await run_in_threadpool(self.state, fresh)
        return self.page.page(
            fresh, token, asks=asks, status=422, ask_problems=problems, typed=typed
        )

    def record_ask(self, token: str, typed: list[tuple[str, str]]) -> list[str] | None:
        """None: the request stored (and the clinician told); else what is wrong with the
        times (none: the session can no longer be moved from the page)."""
        practice = self.parts.practice
        with self.parts.store.unit() as s:
            row = session_rows.session_by_token(s, token, lock=True)
            at = now()
            if row is None or not rules.can_change(row, at):
                return []
            starts, problems = rules.read_times(typed, row.participant_tz, at, row, practice)
            if problems:
                return problems
            rules.ask(s, row, starts, practice, at)
            return None

    async def cancel_confirm(self, request: Request) -> Response:
        """Cancel's first step: what cancelling means now (late, the practice's words)."""
        token = request.path_params["token"]
        session = await run_in_threadpool(self.page.load, token)
        if session is None:
            return self.page.not_found()
        at = now()
        if access.access(session, self.parts.practice, at).gone:
            return self.page.gone()
        if not rules.can_change(session, at):
            return self.page.redirect(f"/j/{token}")
        tz = session.participant_tz
        return self.page.render(
            "cancel.html",
            token=token,
            csrf=access.csrf_token(session),
            clinician=session.clinician.display_name or "Your clinician",
            start=when(session.start_at, tz),
            zone=zone_label(tz),
            late=rules.is_late(session, self.parts.practice, at),
        )

    async def cancel(self, request: Request) -> Response:
        session, form, refused = await self.page.checked_form(request)
        token = request.path_params["token"]
        if refused is not None and refused.status_code == 410:
            # A second click of Cancel (or a reload) is answered as the first was.
            again = await run_in_threadpool(self.page.load, token)
            if again is not None and again.cancelled_at and self.cancelled_here(again, form):
                return self.cancelled(again, again.cancelled_at > again.start_at - self.notice())
        if refused or session is None:
            return refused or self.page.not_found()
        if form.get("confirm") != "yes":
            return self.page.redirect(f"/j/{token}")
        late: bool | None = await run_in_threadpool(self.record_cancel, token)
        if late is None:
            return self.page.redirect(f"/j/{token}")
        return self.cancelled(session, late)

    def notice(self) -> timedelta:
        return timedelta(hours=self.parts.practice.cancel_notice_hours)

    def cancelled_here(self, session: ScheduledSession, form: dict[str, str]) -> bool:
        return (
            session.status == "cancelled"
            and form.get("confirm") == "yes"
            and access.csrf_ok(session, form.get("csrf"))
        )

    def cancelled(self, session: ScheduledSession, late: bool) -> Response:
        tz = session.participant_tz
        return self.page.render(
            "cancelled.html",
            clinician=session.clinician.display_name or "Your clinician",
            start=when(session.start_at, tz),
            zone=zone_label(tz),
            late=late,
        )

    def record_cancel(self, token: str) -> bool | None:
        """Cancelled now: whether it was late; None when it could not be."""
        practice = self.parts.practice
        with self.parts.store.unit() as s:
            row = session_rows.session_by_token(s, token, lock=True)
            at = now()
            if row is None:
                return None
            late = rules.is_late(row, practice, at)
            return late if rules.cancel(s, row, practice, at) else None
