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
from urllib.parse import parse_qsl, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ground.formatting import initials, money_from_cents, when
from ground.language import N_, SOURCE
from ground.metrics import counted, page_result, webhook_result
from integrations import providers
from integrations.payments import (
    InvalidSignature,
    MalformedEvent,
    PaymentEvent,
    Payments,
    PaymentsUnavailable,
    checkout_origins,
)
from integrations.video import VideoRooms
from scheduling.page import PageSession
from scheduling.page_requests import PageAsks
from sessionbot.parts import Parts
from web import access as rules
from web import words
from web.feed import PATH as FEED_PATH
from web.feed import Feed
from web.page_requests import PageRequests
from web.throttle import MissThrottle

log = logging.getLogger("sessionbot.web")
HERE = Path(__file__).parent
STYLESHEET = "/static/web/page.css"
PAY_WAIT_STEPS = 100  # a second Pay Now waits up to 100 x 0.1 s for the first's page
HSTS = "max-age=31536000"  # behind https (SESSIONBOT_PUBLIC_URL): a year, this host only

NOTICES = {  # in the participant's language (web/words.py); marked for the catalog
    "rsvp-yes": N_("Thank you: the clinician will see that you plan to attend."),
    "rsvp-no": N_("Thank you: the clinician will see that you cannot attend."),
    "documents": N_("Thank you for confirming the documents."),
    "paid": N_("Payment received. Thank you."),
    "payment-processing": N_("Your payment is being processed; this page will show it shortly."),
    "payment-cancelled": N_("Payment was not completed. You can try again."),
    "not-yet": N_("Enter Meeting is not open yet."),
    "asked": N_("Your request was sent to your clinician, who will answer soon."),
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
    """The handlers, holding the parts and the integrations chosen by settings. What they
    read and change of a session goes through the scheduling service (scheduling/page.py,
    one unit a call); they hold none of its rows."""

    def __init__(self, parts: Parts, payments: Payments | None, video: VideoRooms) -> None:
        self.parts = parts
        self.scheduler = parts.scheduler
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

    def render(
        self, name: str, status: int = 200, *, language: str = SOURCE, **context: object
    ) -> Response:
        html = (
            words.templates(language)
            .get_template(name)
            .render(
                practice=self.parts.practice, stylesheet=STYLESHEET, language=language, **context
            )
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
        session: PageSession,
        token: str,
        notice: str | None = None,
        *,
        asks: PageAsks | None = None,
        status: int = 200,
        **extra: object,
    ) -> Response:
        at = now()
        state = rules.access(session, self.parts.practice, at)
        if state.gone:
            return self.gone()
        tz = session.tz  # the zone of the participant whose link it is
        service = self.parts.practice.service(session.service)
        said = words.said(session, self.parts.practice, tz)
        lang = said.language
        notice_words = NOTICES.get(notice or "")
        return self.render(
            "page.html",
            status,
            language=lang,
            asks=asks,
            asked=[when(t, tz, language=lang) for t in asks.open_times] if asks else [],
            **extra,
            session=session,
            state=state,
            token=token,
            rsvp=session.rsvp,
            csrf=rules.csrf_token(session),
            clinician=said.clinician,
            start=said.start,
            zone=said.zone,
            opens_at=when(state.opens_at, tz, language=lang),
            amount=money_from_cents(session.amount_cents, session.currency),
            refunded=money_from_cents(session.refunded_cents, session.currency),
            service=service.name if service else words.gettext(lang, N_("Session")),
            paid_at=when(session.paid_at, tz, language=lang) if session.paid_at else None,
            payments_ready=self.payments is not None,
            notice=words.gettext(lang, notice_words) if notice_words else None,
        )

    # Loading --------------------------------------------------------------------------

    def load(self, token: str, *, disclosed: str | None = None) -> PageSession | None:
        """The session of a participant link; `disclosed` names the audit action when
        what follows shows the participant something (the page, the room)."""
        return self.scheduler.page_session(token, disclosed=disclosed)

    def foreign_origin(self, request: Request) -> bool:
        # With Referrer-Policy no-referrer, browsers send `Origin: null` on our own forms.
        origin = request.headers.get("origin")
        return origin not in (None, "null", self.origin)

    async def checked_form(
        self, request: Request
    ) -> tuple[PageSession | None, dict[str, str], Response | None]:
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

    # The page -------------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        token = request.path_params["token"]
        session = await run_in_threadpool(lambda: self.load(token, disclosed="page_opened"))
        if session is None:
            return self.not_found()
        asks = await run_in_threadpool(self.requests.state, token)
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
        said = words.said(session, self.parts.practice, session.tz)
        return self.render(
            "rsvp.html",
            language=said.language,
            token=token,
            answer=answer,
            csrf=rules.csrf_token(session),
            clinician=said.clinician,
            start=said.start,
            zone=said.zone,
        )

    async def rsvp(self, request: Request) -> Response:
        session, form, refused = await self.checked_form(request)
        if refused or session is None:
            return refused or self.not_found()
        token = request.path_params["token"]
        answer = form.get("answer")
        if answer not in ("yes", "no"):
            return self.redirect(_path(token))
        # Once per change of answer: a double click is recorded once (scheduling/page.py).
        await run_in_threadpool(self.scheduler.page_rsvp, token, answer)
        return self.redirect(_path(token) + f"?m=rsvp-{answer}")

    async def documents(self, request: Request) -> Response:
        session, form, refused = await self.checked_form(request)
        if refused or session is None:
            return refused or self.not_found()
        token = request.path_params["token"]
        if form.get("confirm") != "yes":
            return self.redirect(_path(token))
        await run_in_threadpool(self.scheduler.page_documents, token)
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
        claimed = await run_in_threadpool(self.scheduler.claim_pay, session)
        for _ in range(PAY_WAIT_STEPS):
            if claimed.mine or claimed.result is not None:
                break
            await asyncio.sleep(0.1)
            claimed = await run_in_threadpool(self.scheduler.claim_pay, session)
        if not claimed.mine:
            return self.redirect(claimed.result or _path(token))
        try:
            url = await run_in_threadpool(self.start_checkout, session, token)
        except PaymentsUnavailable as exc:
            await run_in_threadpool(self.scheduler.settle_pay, claimed, None)
            log.warning("checkout for session %s failed: %s", session.public_id, exc)
            return self.render("error.html", 502, token=token)
        except BaseException:
            await run_in_threadpool(self.scheduler.settle_pay, claimed, None)
            raise
        await run_in_threadpool(self.scheduler.settle_pay, claimed, url or _path(token))
        return self.redirect(url or _path(token))

    def start_checkout(self, session: PageSession, token: str) -> str | None:
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
                self.scheduler.checkout_returned(session.public_id, current)  # webhook late
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
        self.scheduler.remember_checkout(token, checkout.id)  # while it is still unpaid
        return checkout.url

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
                await run_in_threadpool(
                    self.scheduler.checkout_returned, session.public_id, checkout
                )
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
            return self.scheduler.refund_event(event.id, refund)
        if checkout is None:
            return "ignored"
        if event.type == "checkout.session.expired":
            # Nothing to store: the next Pay Now finds it expired and makes a new one.
            log.info("checkout %s expired", checkout.id)
            return "ok"
        # Paid, or a delayed payment failed (scheduling/payments_in.py); the rest: "ignored".
        return self.scheduler.checkout_event(event.id, event.type, checkout)

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
            display_name=initials(session.name),
            host=False,
            not_before=state.opens_at,
            expires=state.closes_at,
        )
        await run_in_threadpool(self.scheduler.page_entered, token)  # "is waiting", once
        log.info("participant entered session %s", session.public_id)
        return self.secure(RedirectResponse(url, status_code=303))

    async def host_enter(self, request: Request) -> Response:
        """The clinician's Enter Meeting: the same room, as moderator, until the window ends."""
        host_token = request.path_params["host_token"]
        room = await run_in_threadpool(self.scheduler.host_room, host_token)
        if room is None:
            return self.not_found()
        at = now()
        if room.gone(at):
            return self.gone()
        url = self.video.join_url(
            room.room_name,
            display_name=room.clinician or "Clinician",
            host=True,
            not_before=at,
            expires=room.closes_at,
        )
        await run_in_threadpool(self.scheduler.host_entered, room)
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
