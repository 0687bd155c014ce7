"""The page's "Ask for another time" and "Cancel": form POSTs under the page's token, with
its HMAC form field and Origin check (`Page.checked_form`) and its throttle (the routes
under /j/ are guarded in web/routes.py). The rules are in scheduling/page_requests.py,
reached through the scheduling service (one unit a call).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from scheduling import page_requests as rules
from scheduling.page import PageSession
from web import access, words

if TYPE_CHECKING:
    from web.routes import Page

TIME_FIELDS = tuple((f"date{n}", f"time{n}") for n in range(1, rules.MAX_TIMES + 1))


def now() -> datetime:
    return datetime.now(UTC)


class PageRequests:
    """The handlers, over the page's own (its responses, its form check, its scheduler)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.parts = page.parts
        self.scheduler = page.parts.scheduler

    def state(self, token: str) -> rules.PageAsks:
        """What the page shows of asking and cancelling (read in the thread pool)."""
        return self.scheduler.page_asks(token)

    async def ask(self, request: Request) -> Response:
        session, form, refused = await self.page.checked_form(request)
        if refused or session is None:
            return refused or self.page.not_found()
        token = request.path_params["token"]
        typed = [(form.get(d, "")[:20], form.get(t, "")[:20]) for d, t in TIME_FIELDS]
        problems = await run_in_threadpool(self.scheduler.page_ask, token, typed)
        if problems is None:
            return self.page.redirect(f"/j/{token}?m=asked")
        if not problems:  # begun (or cancelled) meanwhile: the page says what it offers
            return self.page.redirect(f"/j/{token}")
        fresh = await run_in_threadpool(self.page.load, token) or session
        asks = await run_in_threadpool(self.state, token)
        return self.page.page(
            fresh, token, asks=asks, status=422, ask_problems=problems, typed=typed
        )

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
        said = words.said(session, self.parts.practice)
        return self.page.render(
            "cancel.html",
            language=said.language,
            token=token,
            csrf=access.csrf_token(session),
            clinician=said.clinician,
            start=said.start,
            zone=said.zone,
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
        late = await run_in_threadpool(self.scheduler.page_cancel, token)
        if late is None:
            return self.page.redirect(f"/j/{token}")
        return self.cancelled(session, late)

    def notice(self) -> timedelta:
        return timedelta(hours=self.parts.practice.cancel_notice_hours)

    def cancelled_here(self, session: PageSession, form: dict[str, str]) -> bool:
        return (
            session.status == "cancelled"
            and form.get("confirm") == "yes"
            and access.csrf_ok(session, form.get("csrf"))
        )

    def cancelled(self, session: PageSession, late: bool) -> Response:
        said = words.said(session, self.parts.practice)
        return self.page.render(
            "cancelled.html",
            language=said.language,
            clinician=said.clinician,
            start=said.start,
            zone=said.zone,
            late=late,
        )
