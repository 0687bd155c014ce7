"""The participant page (`/j/{token}`), its actions, the clinician's Enter Meeting and the
Stripe webhook: routes of this part for the one ASGI app (sessionbot/asgi.py).

Every handler reads the request, then does its store and network work in the thread pool
(SQLAlchemy and the Stripe SDK are synchronous). Responses carry no-store caching, no
referrer, a strict CSP and no framing. Forms carry a per-page HMAC token and a foreign
Origin is refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import object_session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ground.formatting import initials, money_from_cents, when, zone_label
from ground.metrics import counted, page_result, webhook_result
from integrations import providers
from integrations.payments import (
    Checkout,
    InvalidSignature,
    MalformedEvent,
    PaymentEvent,
    Payments,
    PaymentsUnavailable,
    checkout_origins,
)
from integrations.video import VideoRooms
from scheduling import booking, results, waiting
from scheduling.page_requests import PageAsks
from sessionbot.parts import Parts
from store import audit, claim_rows, session_rows
from store.models import ScheduledSession
from web import access as rules
from web.feed import PATH as FEED_PATH
from web.feed import Feed
from web.page_requests import PageRequests
from web.throttle import MissThrottle

log = logging.getLogger("sessionbot.web")
HERE = Path(__file__).parent
STYLESHEET = "/static/web/page.css"
PAY_WAIT_STEPS = 100  # a second Pay Now waits up to 100 x 0.1 s for the first's page
HSTS = "max-age=31536000"  # behind https (SESSIONBOT_PUBLIC_URL): a year, this host only

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

NOTICES = {
    "rsvp-yes": "Thank you: the clinician will see that you plan to attend.",
    "rsvp-no": "Thank you: the clinician will see that you cannot attend.",
    "documents": "Thank you for confirming the documents.",
    "paid": "Payment received. Thank you.",
    "payment-processing": "Your payment is being processed; this page will show it shortly.",
    "payment-cancelled": "Payment was not completed. You can try again.",
    "not-yet": "Enter Meeting is not open yet.",
    "asked": "Your request was sent to your clinician, who will answer soon.",
}


# What a Checkout Session's event does to its session (the rest are answered "ignored").
CHECKOUT_EVENTS = {
    "checkout.session.completed": rules.record_payment,
    "checkout.session.async_payment_succeeded": rules.record_payment,
    "checkout.session.async_payment_failed": rules.record_payment_failed,
}


def now() -> datetime:
    return datetime.now(UTC)


async def small_form(request: Request, limit: int = 4096) -> dict[str, str]:
    """The page's forms are a few short url-encoded fields; anything bigger is ignored."""
    body = await request.body()
    if len(body) > limit or not request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _path(token: str, action: str = "") -> str:
    return f"/j/{token}" + (f"/{action}" if action else "")


class Page:
    """The handlers, holding the parts and the integrations chosen by settings."""

    def __init__(self, parts: Parts, payments: Payments | None, video: VideoRooms) -> None:
        self.parts = parts
        self.payments = payments
        self.video = video
        origin = urlsplit(parts.settings.public_url)
        self.origin = f"{origin.scheme}://{origin.netloc}"
        self.https = origin.scheme == "https"
        self.requests = PageRequests(self)  # Ask for another time, Cancel
        self.csp = "; ".join(
            [
                "default-src 'none'",
                "style-src 'self'",
                "img-src 'self'",
                "form-action 'self' " + " ".join(checkout_origins(parts.settings)),
                "frame-ancestors 'none'",
                "base-uri 'none'",
            ]
        )

    # Responses ------------------------------------------------------------------------

    def secure(self, response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = self.csp
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if self.https:
            response.headers["Strict-Transport-Security"] = HSTS
        return response

    def too_many(self, retry_after: int) -> Response:
        """The throttle's answer (web/throttle.py), with the same headers as every page."""
        response = PlainTextResponse(
            "Too many unknown links from here. Please wait a minute and try again.",
            status_code=429,
            headers={"Retry-After": str(retry_after)},
        )
        return self.secure(response)

    def render(self, name: str, status: int = 200, **context: Any) -> Response:
        html = templates.get_template(name).render(
            practice=self.parts.practice, stylesheet=STYLESHEET, **context
        )
        return self.secure(HTMLResponse(html, status_code=status))

    def not_found(self) -> Response:
        return self.render("not_found.html", 404)

    def gone(self) -> Response:
        return self.render("gone.html", 410)

    def redirect(self, url: str) -> Response:
        return self.secure(RedirectResponse(url, status_code=303))

    def page(
        self,
        session: ScheduledSession,
        token: str,
        notice: str | None = None,
        *,
        asks: PageAsks | None = None,
        status: int = 200,
        **extra: Any,
    ) -> Response:
        at = now()
        state = rules.access(session, self.parts.practice, at)
        if state.gone:
            return self.gone()
        tz = session.participant_tz
        service = self.parts.practice.service(session.service)
        return self.render(
            "page.html",
            status,
            asks=asks,
            asked=[when(t, tz) for t in asks.open_times] if asks else [],
            **extra,
            session=session,
            state=state,
            token=token,
            csrf=rules.csrf_token(session),
            clinician=session.clinician.display_name or "Your clinician",
            start=when(session.start_at, tz),
            zone=zone_label(tz),
            opens_at=when(state.opens_at, tz),
            amount=money_from_cents(session.amount_cents, session.currency),
            refunded=money_from_cents(session.refunded_cents, session.currency),
            service=service.name if service else "Session",
            paid_at=when(session.paid_at, tz) if session.paid_at else None,
            payments_ready=self.payments is not None,
            notice=NOTICES.get(notice or ""),
        )

    # Loading --------------------------------------------------------------------------

    def load(self, token: str, *, disclosed: str | None = None) -> ScheduledSession | None:
        """The session of a participant link; `disclosed` names the audit action when
        what follows shows the participant something (the page, the room)."""
        with self.parts.store.unit() as s:
            session = session_rows.session_by_token(s, token)
            if session is not None and disclosed is not None:
                audit.record(s, actor=audit.PARTICIPANT, action=disclosed, session_id=session.id)
            return session

    def foreign_origin(self, request: Request) -> bool:
        # With Referrer-Policy no-referrer, browsers send `Origin: null` on our own forms.
        origin = request.headers.get("origin")
        return origin not in (None, "null", self.origin)

    async def checked_form(
        self, request: Request
    ) -> tuple[ScheduledSession | None, dict[str, str], Response | None]:
        """The session and form of a POST, or the response that refuses it."""
        token = request.path_params["token"]
        form = await small_form(request)
        session = await run_in_threadpool(self.load, token)
        if session is None:
            return None, form, self.not_found()
        if self.foreign_origin(request) or not rules.csrf_ok(session, form.get("csrf")):
            return None, form, self.secure(PlainTextResponse("Forbidden", status_code=403))
        if rules.access(session, self.parts.practice, now()).gone:
            return None, form, self.gone()
        return session, form, None

    def update(self, token: str, change: Callable[[ScheduledSession], None]) -> None:
        with self.parts.store.unit() as s:
            session = session_rows.session_by_token(s, token, lock=True)
            if session is not None:
                change(session)

    def note(self, session_id: int, actor: str, action: str) -> None:
        """An audit row of its own (a disclosure decided after the session was read)."""
        with self.parts.store.unit() as s:
            audit.record(s, actor=actor, action=action, session_id=session_id)

    # The page -------------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        token = request.path_params["token"]
        session = await run_in_threadpool(lambda: self.load(token, disclosed="page_opened"))
        if session is None:
            return self.not_found()
        asks = await run_in_threadpool(self.requests.state, session)
        return self.page(session, token, request.query_params.get("m"), asks=asks)

    async def rsvp_confirm(self, request: Request) -> Response:
        """The e-mail's Yes/No links: a GET only shows a form (link scanners must not vote)."""
        token = request.path_params["token"]
        session = await run_in_threadpool(self.load, token)
        if session is None:
            return self.not_found()
        if rules.access(session, self.parts.practice, now()).gone:
            return self.gone()
        answer = request.query_params.get("answer")
        if answer not in ("yes", "no"):
            return self.redirect(_path(token))
        tz = session.participant_tz
        return self.render(
            "rsvp.html",
            token=token,
            answer=answer,
            csrf=rules.csrf_token(session),
            clinician=session.clinician.display_name or "Your clinician",
            start=when(session.start_at, tz),
            zone=zone_label(tz),
        )

    async def rsvp(self, request: Request) -> Response:
        session, form, refused = await self.checked_form(request)
        if refused or session is None:
            return refused or self.not_found()
        token = request.path_params["token"]
        answer = form.get("answer")
        if answer not in ("yes", "no"):
            return self.redirect(_path(token))

        def record() -> None:
            with self.parts.store.unit() as s:
                row = session_rows.session_by_token(s, token, lock=True)
                if row is None:
                    return
                at = now()

                def rsvp() -> results.Done:  # the clinician hears of a changed answer by DM
                    changed = booking.record_rsvp(
                        s, row, answer, at, via="the session page", practice=self.parts.practice
                    )
                    return results.Done(f"rsvp-{answer}", changed=changed)

                # The same answer twice within the window (a double click) is recorded once;
                # a change of mind back is another intent (the answer it replaces differs).
                change = f"{row.rsvp}->{answer}"
                results.once(s, row.clinician_id, "rsvp", row.public_id, change, at, rsvp)

        await run_in_threadpool(record)
        return self.redirect(_path(token) + f"?m=rsvp-{answer}")

    async def documents(self, request: Request) -> Response:
        session, form, refused = await self.checked_form(request)
        if refused or session is None:
            return refused or self.not_found()
        token = request.path_params["token"]
        if form.get("confirm") != "yes":
            return self.redirect(_path(token))
        at = now()

        def confirm(row: ScheduledSession) -> None:
            s = object_session(row)
            if row.documents_confirmed_at is None and s is not None:
                row.documents_confirmed_at = at
                audit.record(
                    s, actor=audit.PARTICIPANT, action="documents_confirmed", session_id=row.id,
                    fields=["documents_confirmed_at"],
                )  # fmt: skip

        await run_in_threadpool(self.update, token, confirm)
        return self.redirect(_path(token) + "?m=documents")

    # Payment --------------------------------------------------------------------------

    async def pay(self, request: Request) -> Response:
        session, _form, refused = await self.checked_form(request)
        if refused or session is None:
            return refused or self.not_found()
        token = request.path_params["token"]
        if session.payment_status not in rules.UNPAID or self.payments is None:
            return self.redirect(_path(token))
        # A double click (or two tabs) makes one Checkout and one call to Stripe: the
        # first claims Pay Now; a second within the window waits for the first's page.
        claimed = await run_in_threadpool(self.claim_pay, session)
        for _ in range(PAY_WAIT_STEPS):
            if claimed.mine or claimed.result is not None:
                break
            await asyncio.sleep(0.1)
            claimed = await run_in_threadpool(self.claim_pay, session)
        if not claimed.mine:
            return self.redirect(claimed.result or _path(token))
        try:
            url = await run_in_threadpool(self.start_checkout, session, token)
        except PaymentsUnavailable as exc:
            await run_in_threadpool(self.settle_pay, claimed, None)
            log.warning("checkout for session %s failed: %s", session.public_id, exc)
            return self.render("error.html", 502, token=token)
        except BaseException:
            await run_in_threadpool(self.settle_pay, claimed, None)
            raise
        await run_in_threadpool(self.settle_pay, claimed, url or _path(token))
        return self.redirect(url or _path(token))

    def claim_pay(self, session: ScheduledSession) -> claim_rows.ActionClaimed:
        """Pay Now's claim, in a unit of its own (Stripe is called outside any)."""
        # The state it starts from: after an expiry, a failure or a refund (or once the
        # first click's Checkout is remembered) another Pay Now is another intent.
        version = ":".join(
            str(x)
            for x in (
                session.sequence, session.amount_cents, session.payment_status,
                session.payment_ref,
            )
        )  # fmt: skip
        with self.parts.store.unit() as s:
            return claim_rows.claim_action(
                s, session.clinician_id, "pay", session.public_id, version, now(),
                results.CLAIM_WINDOW,
            )  # fmt: skip

    def settle_pay(self, claimed: claim_rows.ActionClaimed, url: str | None) -> None:
        """The Checkout page a repeat is sent to; None: failed, the next click tries again."""
        with self.parts.store.unit() as s:
            if url is None:
                claim_rows.release_claim(s, claimed)
            else:
                claim_rows.finish_claim(s, claimed, url)

    def start_checkout(self, session: ScheduledSession, token: str) -> str | None:
        """The Checkout page to send the participant to (an open one is reused).

        An expired one, one whose delayed payment failed, or one paid and then fully
        refunded is replaced by a new Checkout, under a new idempotency key (Stripe would
        answer the old key with the old session).
        """
        assert self.payments is not None
        replacing = None
        if session.payment_ref:
            current = self.payments.retrieve_checkout(session.payment_ref)
            if current.paid and session.payment_status == "pending":
                self.record(session.public_id, current)  # paid; the webhook is late
                return None
            if current.status == "open" and current.url:
                return current.url
            replacing = current.id
        service = self.parts.practice.service(session.service)
        base = self.parts.settings.public_url
        checkout = self.payments.create_checkout(
            reference=session.public_id,
            description=f"{service.name if service else 'Session'} with {self.parts.practice.name}",
            amount_cents=session.amount_cents or 0,
            currency=session.currency,
            success_url=f"{base}{_path(token, 'paid')}",
            cancel_url=f"{base}{_path(token)}?m=payment-cancelled",
            idempotency_key=rules.checkout_idempotency_key(session, replacing),
        )

        def remember(row: ScheduledSession) -> None:
            if row.payment_status in rules.UNPAID:
                row.payment_ref = checkout.id

        self.update(token, remember)
        return checkout.url

    def record(self, public_id: str, checkout: Checkout) -> bool:
        with self.parts.store.unit() as s:
            session = session_rows.session_by_public_id(s, public_id, lock=True)
            return session is not None and rules.record_payment(
                s, session, checkout, now(), practice=self.parts.practice
            )

    async def paid(self, request: Request) -> Response:
        """Back from Checkout: confirm with Stripe (the webhook may not have come yet)."""
        token = request.path_params["token"]
        session = await run_in_threadpool(self.load, token)
        if session is None:
            return self.not_found()
        if session.payment_status in ("paid", "partially_refunded"):
            return self.redirect(_path(token) + "?m=paid")
        if session.payment_ref and self.payments is not None:
            try:
                checkout = await run_in_threadpool(
                    self.payments.retrieve_checkout, session.payment_ref
                )
            except PaymentsUnavailable:
                checkout = None
            if checkout is not None and checkout.paid:
                await run_in_threadpool(self.record, session.public_id, checkout)
                session = await run_in_threadpool(self.load, token) or session
                if session.payment_status == "paid":
                    return self.redirect(_path(token) + "?m=paid")
        if session.payment_status == "refunded":
            # Back from a Checkout whose payment was refunded since (a reload, an old tab):
            # the page itself says so and offers Pay Now; no notice of a payment.
            return self.redirect(_path(token))
        return self.redirect(_path(token) + "?m=payment-processing")

    async def stripe_webhook(self, request: Request) -> Response:
        body = await request.body()
        if self.payments is None:
            return PlainTextResponse("payments are not configured", status_code=404)
        try:
            event = self.payments.verify_event(body, request.headers.get("stripe-signature"))
        except InvalidSignature:
            log.warning("stripe webhook with a bad signature refused")
            return PlainTextResponse("bad signature", status_code=400)
        except MalformedEvent as exc:
            log.warning("signed stripe webhook that is not an event refused (%s)", exc)
            return PlainTextResponse("not a Stripe event", status_code=400)
        return PlainTextResponse(await run_in_threadpool(self.handle_event, event))

    def handle_event(self, event: PaymentEvent) -> str:
        """One verified event, once however often it arrives; the word says what it did."""
        checkout, refund = event.checkout, event.refund
        if event.type == "charge.refunded" and refund is not None:
            if not refund.payment_intent:
                return "ignored"
            with self.parts.store.unit() as s:
                if not claim_rows.first_time(s, f"stripe:{event.id}"):
                    return "duplicate"
                session = session_rows.session_by_payment_intent(
                    s, refund.payment_intent, lock=True
                )
                if session is None:
                    return "unknown payment"
                return (
                    "recorded"
                    if rules.record_refund(s, session, refund, now(), practice=self.parts.practice)
                    else "ok"
                )
        if checkout is None:
            return "ignored"
        if event.type == "checkout.session.expired":
            # Nothing to store: the next Pay Now finds it expired and makes a new one.
            log.info("checkout %s expired", checkout.id)
            return "ok"
        record = CHECKOUT_EVENTS.get(event.type)
        if record is None:
            return "ignored"
        with self.parts.store.unit() as s:
            if not claim_rows.first_time(s, f"stripe:{event.id}"):
                return "duplicate"
            session = session_rows.session_by_public_id(s, checkout.reference or "", lock=True)
            if session is None:
                return "unknown session"
            return (
                "recorded"
                if record(s, session, checkout, now(), practice=self.parts.practice)
                else "ok"
            )

    # The video room -------------------------------------------------------------------

    async def enter(self, request: Request) -> Response:
        token = request.path_params["token"]
        session = await run_in_threadpool(self.load, token)
        if session is None:
            return self.not_found()
        state = rules.access(session, self.parts.practice, now())
        if state.gone:
            return self.gone()
        if not state.can_enter:
            return self.redirect(_path(token) + "?m=not-yet")
        url = self.video.join_url(
            session.room_name,
            display_name=initials(session.participant),
            host=False,
            not_before=state.opens_at,
            expires=state.closes_at,
        )
        await run_in_threadpool(self.entered, token)
        log.info("participant entered session %s", session.public_id)
        return self.secure(RedirectResponse(url, status_code=303))

    def entered(self, token: str) -> None:
        """The waiting room: the clinician is told once (scheduling/waiting.py)."""
        with self.parts.store.unit() as s:
            row = session_rows.session_by_token(s, token, lock=True)
            if row is not None:
                waiting.participant_entered(s, row, self.parts.practice, now())
                audit.record(s, actor=audit.PARTICIPANT, action="enter_meeting", session_id=row.id)

    async def host_enter(self, request: Request) -> Response:
        """The clinician's Enter Meeting: the same room, as moderator, until the window ends."""
        host_token = request.path_params["host_token"]

        def load() -> ScheduledSession | None:
            with self.parts.store.unit() as s:
                return session_rows.session_by_host_token(s, host_token)

        session = await run_in_threadpool(load)
        if session is None:
            return self.not_found()
        at = now()
        state = rules.access(session, self.parts.practice, at)
        if state.gone:
            return self.gone()
        url = self.video.join_url(
            session.room_name,
            display_name=session.clinician.display_name or "Clinician",
            host=True,
            not_before=at,
            expires=state.closes_at,
        )
        host = audit.staff(session.clinician.team_id, session.clinician.user_id)
        await run_in_threadpool(self.note, session.id, host, "enter_meeting")
        return self.secure(RedirectResponse(url, status_code=303))

    async def stylesheet(self, request: Request) -> Response:
        css = (HERE / "static" / "page.css").read_text()
        response = Response(css, media_type="text/css")
        response.headers["Cache-Control"] = "public, max-age=3600"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def routes(parts: Parts) -> list[BaseRoute]:
    page = Page(parts, providers.payments(parts.settings), providers.video(parts.settings))
    handler = Callable[[Request], Awaitable[Response]]
    table: list[tuple[str, handler, list[str]]] = [
        ("/j/{token}", page.show, ["GET"]),
        ("/j/{token}/rsvp", page.rsvp_confirm, ["GET"]),
        ("/j/{token}/rsvp", page.rsvp, ["POST"]),
        ("/j/{token}/documents", page.documents, ["POST"]),
        ("/j/{token}/pay", page.pay, ["POST"]),
        ("/j/{token}/paid", page.paid, ["GET"]),
        ("/j/{token}/enter", page.enter, ["GET"]),
        ("/j/{token}/ask", page.requests.ask, ["POST"]),
        ("/j/{token}/cancel", page.requests.cancel_confirm, ["GET"]),
        ("/j/{token}/cancel", page.requests.cancel, ["POST"]),
        ("/enter/{host_token}", page.host_enter, ["GET"]),
        ("/webhooks/stripe", page.stripe_webhook, ["POST"]),
        (STYLESHEET, page.stylesheet, ["GET"]),
        (FEED_PATH, Feed(parts).show, ["GET"]),  # the clinician's calendar (web/feed.py)
    ]
    throttle = MissThrottle()  # guesses at any link (a page's, a feed's) count together
    return [
        Route(
            path,
            counted(throttle.guard(endpoint, page.too_many), page_result)
            if path.startswith(("/j/", "/enter/", "/cal/"))
            else counted(endpoint, webhook_result("stripe"))
            if path.startswith("/webhooks/")
            else endpoint,
            methods=methods,
        )
        for path, endpoint, methods in table
    ]
