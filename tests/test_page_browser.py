"""The participant page in a real headless Chromium: the whole visit, from the link in the
invitation to Enter Meeting, with payment through the fake Stripe Checkout.

Time is moved with time-machine in this process, where the app's server thread runs.
Set SESSIONBOT_SCREENSHOT_TO=docs/participant-page.png to refresh the README's picture.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import time_machine
from conftest import at
from fake_stripe import FakeStripe
from page_support import VIDEO_URL, book, page_parts, reserve_port, serving, session_row

from store import outbox_rows, session_rows
from store.db import Store

if TYPE_CHECKING:  # playwright is optional: the tests skip without it
    from playwright.sync_api import Browser, Playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
START = at("2026-11-25 15:00")  # 3 PM Eastern

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    )


def test_participant_rsvps_pays_and_enters_only_inside_the_window(
    tmp_path: Path, sqlite_store: Store
) -> None:
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with FakeStripe() as fake, time_machine.travel(at("2026-11-24 10:00"), tick=True) as clock:
        sock = reserve_port()
        public_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        parts = page_parts(tmp_path, sqlite_store, fake, public_url)
        fake.webhook_url = f"{public_url}/webhooks/stripe"
        booked = book(parts, START)
        with serving(parts, sock), sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.route(f"{VIDEO_URL}/**", lambda route: route.fulfill(body="the video room"))

            page.goto(public_url + booked.path)
            assert page.locator("html").get_attribute("lang") == "en"
            time_text = page.locator(".time").inner_text()
            assert "12:00 PM PST" in time_text
            assert "Pacific (America/Los_Angeles)" in page.locator(".zone").first.inner_text()
            enter = page.get_by_role("button", name="Enter Meeting")
            assert enter.is_disabled()
            assert (
                "Opens at Wed, Nov 25, 2026, 11:45 AM PST"
                in page.locator("#enter-why").inner_text()
            )
            if os.environ.get("SESSIONBOT_SCREENSHOT_TO"):
                page.screenshot(path=os.environ["SESSIONBOT_SCREENSHOT_TO"], full_page=True)

            # RSVP with the keyboard only.
            page.get_by_role("button", name="Yes, I will attend").focus()
            page.keyboard.press("Enter")
            page.wait_for_url(f"**{booked.path}?m=rsvp-yes")
            assert "plan to attend" in page.get_by_role("status").inner_text()

            page.get_by_label("I have completed the required documents").check()
            page.get_by_role("button", name="Confirm documents").click()
            page.wait_for_url("**?m=documents")

            page.get_by_role("button", name="Pay Now $180.00").click()
            page.wait_for_url(f"{fake.url}/pay/**")
            page.get_by_role("button", name="Pay $180.00").click()
            page.wait_for_url(f"**{booked.path}?m=paid")
            assert [r.text for r in fake.webhooks] == ["recorded"]
            assert "Paid $180.00 for Initial consultation" in page.content()
            assert session_row(parts, booked.public_id).rsvp == "yes"

            # Paid and documents done, but too early: still closed.
            assert page.get_by_role("button", name="Enter Meeting").is_disabled()
            assert page.get_by_role("link", name="Enter Meeting").count() == 0

            clock.move_to(START - timedelta(minutes=10))
            page.reload()
            page.get_by_role("link", name="Enter Meeting").click()
            page.wait_for_url(f"{VIDEO_URL}/**")
            assert page.url == f"{VIDEO_URL}/{booked.room_name}"
            browser.close()


def test_participant_asks_for_another_time_in_their_own_zone(
    tmp_path: Path, sqlite_store: Store
) -> None:
    """Typed in the participant's zone, a wrong time is said by the form, the request is
    shown back, and the clinician's notice carries both zones."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with time_machine.travel(at("2026-11-24 10:00"), tick=True):
        sock = reserve_port()
        public_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        parts = page_parts(tmp_path, sqlite_store, None, public_url)
        booked = book(parts, START, documents=None, service=None, amount=None)
        with serving(parts, sock), sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(public_url + booked.path)
            assert "Pacific (America/Los_Angeles)" in page.locator(".ask .zone").inner_text()

            page.locator("#date1").fill("2026-11-20")  # the week before: refused by name
            page.locator("#time1").fill("09:00")
            page.get_by_role("button", name="Ask for another time").click()
            page.wait_for_load_state()
            assert "Time 1: That date has passed" in page.get_by_role("alert").inner_text()
            assert page.locator("#date1").input_value() == "2026-11-20"  # kept to correct

            page.locator("#date1").fill("2026-11-27")
            page.locator("#date2").fill("2026-11-30")
            page.locator("#time2").fill("10:15")
            page.get_by_role("button", name="Ask for another time").click()
            page.wait_for_url(f"**{booked.path}?m=asked")
            asked = page.locator(".asked").inner_text()
            assert "Fri, Nov 27, 2026, 9:00 AM PST" in asked
            assert "Mon, Nov 30, 2026, 10:15 AM PST" in asked
            if os.environ.get("SESSIONBOT_ASK_SCREENSHOT_TO"):
                page.screenshot(path=os.environ["SESSIONBOT_ASK_SCREENSHOT_TO"], full_page=True)
            browser.close()
        with parts.store.unit() as s:
            row = session_rows.session_by_public_id(s, booked.public_id)
            assert row is not None
            (notice,) = outbox_rows.outbox_for_session(s, row.id)
        assert notice.kind == "clinician_notice"
        assert "(Fri, Nov 27, 2026, 9:00 AM PST theirs)" in (notice.payload or "")
