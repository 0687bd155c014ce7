"""The participant's page and the clinician's Slack: the waiting DM with Enter Meeting and
"waiting" on App Home, and a request for another time answered with the DM's buttons;
the real app on uvicorn, the worker sending to the fake Slack, on each store backend.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import time_machine
from conftest import at
from fake_slack import FakeSlack, Message, Person, SlackApp, find_button
from outbox_kit import run_worker
from page_support import book, session_row

from sessionbot.wiring import Parts

START = at("2026-11-25 15:00")  # 3 PM Eastern (12 PM Pacific)


def csrf(running: SlackApp, path: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', running.http.get(path).text)
    assert match, "the page has no form token"
    return match.group(1)


def worker_dms(fake: FakeSlack) -> list[Message]:
    """What the worker posted to the clinician (by user id, as notices go)."""
    return fake.channel("U_CLIN1")


def texts(node: Any) -> str:
    return str(node)


def test_the_waiting_dm_has_enter_meeting_and_app_home_says_waiting(
    running: SlackApp,
    slack_parts: Parts,
    fake_slack: FakeSlack,
    clinician: Person,
    clock: time_machine.Traveller,
) -> None:
    booked = book(slack_parts, START, documents=None, service=None, amount=None, team="T1")
    clock.move_to(START - timedelta(minutes=5))
    assert running.http.get(f"{booked.path}/enter").status_code == 303
    assert running.http.get(f"{booked.path}/enter").status_code == 303  # a double click
    run_worker(slack_parts)
    (dm,) = worker_dms(fake_slack)
    assert dm.text == "J.D. is waiting: your session on Wed, Nov 25, 2026, 3:00 PM EST."
    button = find_button(dm, "Enter Meeting")
    assert button["url"] == f"https://sessions.example.test/enter/{booked.host_token}"
    clinician.event({"type": "app_home_opened", "user": "U_CLIN1", "tab": "home"})
    (home,) = fake_slack.wait_calls("views.publish", 1)
    assert "* · J.D. · :hourglass: *waiting*" in texts(home.args["view"])
    clock.move_to(START + timedelta(minutes=10))  # begun: in the waiting room section
    clinician.event({"type": "app_home_opened", "user": "U_CLIN1", "tab": "home"})
    (_, home) = fake_slack.wait_calls("views.publish", 2)
    blocks = home.args["view"]["blocks"]
    assert blocks[4]["text"]["text"] == "*In the waiting room now*"
    assert blocks[5]["text"]["text"].endswith("· J.D. · :hourglass: *waiting*")
    assert blocks[5]["accessory"]["url"] == button["url"]
    assert "You have no upcoming sessions." in texts(blocks)


def test_a_request_for_another_time_accepted_from_slack_moves_the_session(
    running: SlackApp,
    slack_parts: Parts,
    fake_slack: FakeSlack,
    clinician: Person,
) -> None:
    booked = book(slack_parts, START, documents=None, service=None, amount=None, team="T1")
    form = {
        "csrf": csrf(running, booked.path),
        "date1": "2026-11-27",
        "time1": "09:00",
        "date2": "2026-11-30",
        "time2": "10:15",
    }
    assert running.http.post(f"{booked.path}/ask", data=form).status_code == 303
    run_worker(slack_parts)
    (dm,) = worker_dms(fake_slack)
    assert "J.D. asks to move your session on Wed, Nov 25, 2026, 3:00 PM EST" in dm.text
    assert "2. Mon, Nov 30, 2026, 1:15 PM EST (Mon, Nov 30, 2026, 10:15 AM PST theirs)" in dm.text
    find_button(dm, "Decline")
    accept = find_button(dm, "Accept Mon, Nov 30, 2026, 1:15 PM EST")
    assert clinician.act(dm, accept).status_code == 200
    (said,) = clinician.replies()
    assert said.text.startswith(
        "Accepted J.D.'s request. Moved the session with J.D. to Mon, Nov 30, 2026, 1:15 PM EST."
    )
    assert session_row(slack_parts, booked.public_id).start_at == at("2026-11-30 13:15")
    assert clinician.act(dm, accept).status_code == 200  # the same button, later
    (again,) = clinician.replies()
    assert again.text == "That request was already accepted."
    page = running.http.get(booked.path).text
    assert "Mon, Nov 30, 2026, 10:15 AM PST" in page


def test_a_request_declined_from_slack_keeps_the_session(
    running: SlackApp,
    slack_parts: Parts,
    fake_slack: FakeSlack,
    clinician: Person,
) -> None:
    booked = book(slack_parts, START, documents=None, service=None, amount=None, team="T1")
    form = {"csrf": csrf(running, booked.path), "date1": "2026-11-27", "time1": "09:00"}
    running.http.post(f"{booked.path}/ask", data=form)
    run_worker(slack_parts)
    (dm,) = worker_dms(fake_slack)
    assert clinician.act(dm, find_button(dm, "Decline")).status_code == 200
    (said,) = clinician.replies()
    assert said.text.startswith("Declined J.D.'s request: the session stays on Wed, Nov 25")
    assert session_row(slack_parts, booked.public_id).start_at == START
    assert "could not take the times you proposed" in running.http.get(booked.path).text
