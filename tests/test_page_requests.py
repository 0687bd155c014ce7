"""The participant's side of the page over HTTP: the waiting room (Enter tells the
clinician once, through the outbox), "Ask for another time" and "Cancel" (late after the
practice's notice), and the clinician's answer; on each store backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from conftest import at
from outbox_kit import clinician_notices, outbox, run_worker
from page_support import Booked, book, page_parts, session_row
from starlette.testclient import TestClient

from scheduling import commands, dashboards, page_requests, results, starts
from scheduling import hours as working
from sessionbot.asgi import create_app
from sessionbot.wiring import Parts
from store import clinician_rows, participant_requests, session_rows
from store.db import Store

PUBLIC = "https://sessions.example.test"
START = at("2026-11-25 15:00")  # 3 PM Eastern (12 PM Pacific), the day after the clock
FORM = {"date1": "2026-11-27", "time1": "09:00", "date2": "2026-11-27", "time2": "14:30"}


@pytest.fixture
def app_parts(tmp_path: Path, store: Store) -> Parts:
    return page_parts(tmp_path, store, None, PUBLIC)


@pytest.fixture
def client(app_parts: Parts) -> Iterator[TestClient]:
    with TestClient(create_app(app_parts), base_url=PUBLIC, follow_redirects=False) as c:
        yield c


@pytest.fixture
def booked(app_parts: Parts, clock: time_machine.Traveller) -> Booked:
    """A session with nothing to pay or confirm first: Enter opens with the window."""
    return book(app_parts, START, documents=None, service=None, amount=None)


def csrf(client: TestClient, booked: Booked) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(booked.path).text)
    assert match, "the page has no form token"
    return match.group(1)


def requests_of(parts: Parts, public_id: str) -> list:
    with parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, public_id)
        assert row is not None
        return participant_requests.for_session(s, row.id)


def dashboard_row(parts: Parts) -> dashboards.SessionRow:
    from datetime import UTC, datetime

    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1")
        found = dashboards.dashboard(
            s, clinician, 0, datetime.now(UTC), parts.practice, parts.settings.public_url
        )
    (row,) = found.rows
    return row


def answer(parts: Parts, how: str, request_id: int, number: int = 1) -> results.Done:
    from datetime import UTC, datetime

    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1")
        if how == "accept":
            return page_requests.accept(
                s, clinician, request_id, number, parts.practice, datetime.now(UTC)
            )
        return page_requests.decline(s, clinician, request_id, parts.practice, datetime.now(UTC))


# The waiting room ------------------------------------------------------------------------------


def test_pressing_enter_in_the_window_tells_the_clinician_once_in_the_local_outbox(
    client: TestClient, app_parts: Parts, booked: Booked, clock: time_machine.Traveller
) -> None:
    clock.move_to(START - timedelta(minutes=5))
    assert not dashboard_row(app_parts).waiting
    for _ in range(3):  # a double click, then a reload
        entered = client.get(f"{booked.path}/enter")
        assert entered.status_code == 303
    stats = run_worker(app_parts)
    assert stats.counts["local"] == 1
    (dm,) = [m for m in outbox(app_parts) if m.kind == "clinician_notice"]
    assert dm.status == "local"
    assert "J.D. is waiting: your session on Wed, Nov 25, 2026, 3:00 PM EST." in (dm.payload or "")
    assert f"[Enter Meeting: {PUBLIC}/enter/{booked.host_token}]" in (dm.payload or "")
    assert "Jane" not in (dm.payload or "")  # initials only, as everywhere in Slack
    assert dashboard_row(app_parts).waiting


def test_the_dashboard_says_waiting_until_the_sessions_end(
    client: TestClient, app_parts: Parts, booked: Booked, clock: time_machine.Traveller
) -> None:
    from datetime import UTC, datetime

    def shown() -> dashboards.DashboardPage:
        with app_parts.store.unit() as s:
            clinician = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1")
            now = datetime.now(UTC)
            return dashboards.dashboard(s, clinician, 0, now, app_parts.practice, PUBLIC)

    clock.move_to(START - timedelta(minutes=5))
    client.get(f"{booked.path}/enter")
    clock.move_to(START + timedelta(minutes=10))  # under way: off the upcoming list
    found = shown()
    assert found.rows == []
    (waiting,) = found.waiting
    assert waiting.participant == "J.D."
    assert waiting.enter_meeting_url == f"{PUBLIC}/enter/{booked.host_token}"
    clock.move_to(START + timedelta(minutes=49))  # a 50-minute session
    assert len(shown().waiting) == 1
    clock.move_to(START + timedelta(minutes=50))  # its end
    assert shown().waiting == ()


def test_enter_before_the_window_tells_no_one(
    client: TestClient, app_parts: Parts, booked: Booked, clock: time_machine.Traveller
) -> None:
    clock.move_to(START - timedelta(minutes=20))  # the window opens 15 minutes before
    assert client.get(f"{booked.path}/enter").headers["location"].endswith("?m=not-yet")
    assert clinician_notices(app_parts) == []
    assert not dashboard_row(app_parts).waiting


def test_a_moved_session_tells_again_when_they_enter_at_the_new_time(
    client: TestClient, app_parts: Parts, booked: Booked, clock: time_machine.Traveller
) -> None:
    from datetime import UTC, datetime

    clock.move_to(START - timedelta(minutes=5))
    client.get(f"{booked.path}/enter")
    later = START + timedelta(hours=2)
    with app_parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1")
        check = starts.check_aware_start(later, datetime.now(UTC), app_parts.practice)
        now = datetime.now(UTC)
        commands.reschedule(s, clinician, booked.public_id, check, app_parts.practice, now)
    assert not dashboard_row(app_parts).waiting  # that entry was for the old time
    clock.move_to(later - timedelta(minutes=3))
    client.get(f"{booked.path}/enter")
    waits = [t for t in clinician_notices(app_parts) if "is waiting" in t]
    assert len(waits) == 2 and "5:00 PM EST" in waits[1]


# Ask for another time -------------------------------------------------------------------------


def test_asking_for_other_times_shows_them_in_the_participants_zone_and_tells_the_clinician(
    client: TestClient, app_parts: Parts, booked: Booked
) -> None:
    token = csrf(client, booked)
    sent = client.post(f"{booked.path}/ask", data={"csrf": token, **FORM})
    assert sent.status_code == 303 and sent.headers["location"].endswith("?m=asked")
    page = client.get(sent.headers["location"])
    assert "Your request was sent to your clinician" in page.text
    assert "Fri, Nov 27, 2026, 9:00 AM PST" in page.text  # as typed, in their zone
    assert "Fri, Nov 27, 2026, 2:30 PM PST" in page.text
    (notice,) = clinician_notices(app_parts)
    assert "J.D. asks to move your session on Wed, Nov 25, 2026, 3:00 PM EST" in notice
    assert "1. Fri, Nov 27, 2026, 12:00 PM EST (Fri, Nov 27, 2026, 9:00 AM PST theirs)" in notice
    assert "2. Fri, Nov 27, 2026, 5:30 PM EST (Fri, Nov 27, 2026, 2:30 PM PST theirs)" in notice
    assert "Jane" not in notice


def test_the_same_request_twice_is_one_request_and_one_dm(
    client: TestClient, app_parts: Parts, booked: Booked
) -> None:
    token = csrf(client, booked)
    for _ in range(2):
        assert client.post(f"{booked.path}/ask", data={"csrf": token, **FORM}).status_code == 303
    assert len(requests_of(app_parts, booked.public_id)) == 1
    assert len(clinician_notices(app_parts)) == 1
    other = {"csrf": token, "date1": "2026-11-30", "time1": "10:00"}
    client.post(f"{booked.path}/ask", data=other)
    newer, older = requests_of(app_parts, booked.public_id)
    assert (newer.status, older.status) == ("open", "replaced")


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"date1": "2026-11-23", "time1": "09:00"}, "Time 1: That date has passed"),
        ({"date1": "2026-11-24", "time1": "06:00"}, "Time 1: That time has passed"),
        ({"date1": "2028-01-05", "time1": "09:00"}, "more than a year ahead"),
        ({"date1": "2026-11-25", "time1": "12:00"}, "the session&#39;s current time"),
        (FORM | {"date3": "2026-11-27", "time3": "09:00"}, "Time 3: the same as time 1"),
        ({"date1": "2026-11-27"}, "Time 1: give both a date and a time"),
        ({"date1": "next friday", "time1": "9"}, "Time 1: that is not a date and a time"),
        ({"date1": "2027-03-14", "time1": "02:30"}, "the clocks move forward then"),
        ({}, "Give at least one date and time"),
    ],
)
def test_times_that_cannot_be_are_refused_by_name_and_nothing_is_asked(
    client: TestClient, app_parts: Parts, booked: Booked, fields: dict, said: str
) -> None:
    answer_ = client.post(f"{booked.path}/ask", data={"csrf": csrf(client, booked), **fields})
    assert answer_.status_code == 422
    assert said in answer_.text
    assert requests_of(app_parts, booked.public_id) == []
    assert clinician_notices(app_parts) == []


def test_forms_without_the_page_token_or_from_elsewhere_are_refused(
    client: TestClient, app_parts: Parts, booked: Booked
) -> None:
    token = csrf(client, booked)
    assert client.post(f"{booked.path}/ask", data=FORM).status_code == 403
    assert client.post(f"{booked.path}/ask", data={"csrf": "0" * 64, **FORM}).status_code == 403
    assert client.post(f"{booked.path}/cancel", data={"confirm": "yes"}).status_code == 403
    elsewhere = {"Origin": "https://evil.example"}
    refused = client.post(
        f"{booked.path}/cancel", data={"csrf": token, "confirm": "yes"}, headers=elsewhere
    )
    assert refused.status_code == 403
    assert requests_of(app_parts, booked.public_id) == []
    assert session_row(app_parts, booked.public_id).status == "scheduled"
    assert client.post("/j/not-a-token/ask", data={"csrf": token, **FORM}).status_code == 404


def test_a_begun_session_offers_neither_and_refuses_both(
    client: TestClient, app_parts: Parts, booked: Booked, clock: time_machine.Traveller
) -> None:
    token = csrf(client, booked)
    clock.move_to(START + timedelta(minutes=5))
    page = client.get(booked.path)
    assert page.status_code == 200
    assert "Ask for another time" not in page.text and "/cancel" not in page.text
    assert client.post(f"{booked.path}/ask", data={"csrf": token, **FORM}).status_code == 303
    assert client.get(f"{booked.path}/cancel").headers["location"] == booked.path
    client.post(f"{booked.path}/cancel", data={"csrf": token, "confirm": "yes"})
    assert session_row(app_parts, booked.public_id).status == "scheduled"
    assert requests_of(app_parts, booked.public_id) == []


# The clinician's answer -------------------------------------------------------------------------


def test_an_accepted_time_moves_the_session_with_the_usual_update(
    client: TestClient, app_parts: Parts, store: Store, clock: time_machine.Traveller
) -> None:
    booked = book(app_parts, START, documents=None, service=None, amount=None)
    with app_parts.store.unit() as s:  # invited by e-mail, and the invitation went out
        row = session_rows.session_by_public_id(s, booked.public_id, lock=True)
        assert row is not None
        row.invite_channel, row.email = "email", "jane.doe@example.com"
    token = csrf(client, booked)
    client.post(f"{booked.path}/ask", data={"csrf": token, **FORM})
    (request,) = requests_of(app_parts, booked.public_id)
    done = answer(app_parts, "accept", request.id, 2)
    assert done.changed, done.text
    assert done.text.startswith(
        "Accepted J.D.'s request. Moved the session with J.D. to Fri, Nov 27"
    )
    assert session_row(app_parts, booked.public_id).start_at == at("2026-11-27 17:30")
    (request,) = requests_of(app_parts, booked.public_id)
    assert (request.status, request.chosen) == ("accepted", 2)
    kinds = [m.kind for m in outbox(app_parts) if m.kind != "clinician_notice"]
    assert "invitation" in kinds and "reminder" in kinds  # the new time, fresh reminders
    again = answer(app_parts, "accept", request.id, 1)
    assert not again.changed and "already accepted" in again.text
    page = client.get(booked.path)
    assert "Fri, Nov 27, 2026, 2:30 PM PST" in page.text and "not answered yet" not in page.text


def test_a_declined_request_is_told_to_the_participant_and_the_session_stays(
    client: TestClient, app_parts: Parts, booked: Booked
) -> None:
    with app_parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, booked.public_id, lock=True)
        assert row is not None
        row.invite_channel, row.email = "email", "jane.doe@example.com"
    client.post(f"{booked.path}/ask", data={"csrf": csrf(client, booked), **FORM})
    (request,) = requests_of(app_parts, booked.public_id)
    done = answer(app_parts, "decline", request.id)
    assert done.text == (
        "Declined J.D.'s request: the session stays on Wed, Nov 25, 2026, 3:00 PM EST. "
        "They will be told by e-mail."
    )
    assert session_row(app_parts, booked.public_id).start_at == START
    run_worker(app_parts)
    (told,) = [m for m in outbox(app_parts) if m.kind == "declined"]
    assert told.status == "local"
    assert "could not take the times you proposed" in (told.payload or "")
    assert "Wednesday, November 25, 2026 at 12:00 PM PST" in (told.payload or "")
    assert "could not take the times you proposed" in client.get(booked.path).text
    assert not answer(app_parts, "decline", request.id).changed


def test_another_clinicians_request_is_not_found(
    client: TestClient, app_parts: Parts, booked: Booked
) -> None:
    from datetime import UTC, datetime

    client.post(f"{booked.path}/ask", data={"csrf": csrf(client, booked), **FORM})
    (request,) = requests_of(app_parts, booked.public_id)
    with app_parts.store.unit() as s:
        other = clinician_rows.get_clinician(s, "T_TEST", "U_OTHER")
        done = page_requests.accept(s, other, request.id, 1, app_parts.practice, datetime.now(UTC))
    assert not done.found and session_row(app_parts, booked.public_id).start_at == START


# Cancel ---------------------------------------------------------------------------------------


def test_a_late_cancellation_says_so_with_the_practices_words_and_tells_the_clinician(
    client: TestClient, app_parts: Parts, booked: Booked, clock: time_machine.Traveller
) -> None:
    clock.move_to(START - timedelta(hours=5))
    policy = "Sessions cancelled with less than 24 hours' notice may be charged the full fee."
    page = client.get(booked.path)
    assert "Cancelling now is a late cancellation" in page.text
    assert policy.replace("'", "&#39;") in page.text
    confirm = client.get(f"{booked.path}/cancel")
    assert "This is a late cancellation" in confirm.text
    token = csrf(client, booked)
    done = client.post(f"{booked.path}/cancel", data={"csrf": token, "confirm": "yes"})
    assert done.status_code == 200
    assert "Your session is cancelled" in done.text and "late cancellation" in done.text
    twice = client.post(f"{booked.path}/cancel", data={"csrf": token, "confirm": "yes"})
    assert twice.status_code == 200 and "Your session is cancelled" in twice.text
    assert session_row(app_parts, booked.public_id).status == "cancelled"
    (notice,) = clinician_notices(app_parts)
    assert notice == (
        "J.D. cancelled your session on Wed, Nov 25, 2026, 3:00 PM EST from their session "
        "page. It is a late cancellation: 5 hours before the start; the practice asks for 24."
    )
    assert client.get(booked.path).status_code == 410


def test_a_cancellation_in_good_time_is_not_late(
    client: TestClient, app_parts: Parts, booked: Booked
) -> None:
    assert "late cancellation" not in client.get(booked.path).text  # 29 hours ahead
    token = csrf(client, booked)
    client.post(f"{booked.path}/ask", data={"csrf": token, **FORM})
    done = client.post(f"{booked.path}/cancel", data={"csrf": token, "confirm": "yes"})
    assert "Your session is cancelled" in done.text and "late" not in done.text
    (_, notice) = clinician_notices(app_parts)
    assert notice.endswith("from their session page.")
    (request,) = requests_of(app_parts, booked.public_id)
    assert request.status == "closed"  # nothing left to accept
    assert "was already closed" in answer(app_parts, "accept", request.id).text


def test_guessing_at_the_request_forms_is_throttled_like_the_page(
    client: TestClient, booked: Booked
) -> None:
    for i in range(30):
        guess = f"/j/guess-number-{i:04d}-of-many/{'ask' if i % 2 else 'cancel'}"
        assert client.post(guess, data={"csrf": "0" * 64, **FORM}).status_code == 404
    refused = client.post("/j/guess-number-0031-of-many/ask", data=FORM)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert client.get("/j/guess-number-0032-of-many/cancel").status_code == 429
    assert client.get(booked.path).status_code == 200  # a real link always opens


def test_only_times_inside_the_clinicians_working_hours_are_taken(
    client: TestClient, app_parts: Parts, booked: Booked
) -> None:
    """The clinician works Mon-Fri 9-5 Eastern: Saturday is refused by name; Friday 9:00 AM
    Pacific (12:00 PM Eastern) is taken."""
    with app_parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, booked.public_id)
        assert row is not None
        said = working.set_hours(row.clinician, "Mon-Fri 09:00-17:00", app_parts.practice)
        assert said.changed
    token = csrf(client, booked)
    saturday = {"csrf": token, "date1": "2026-11-28", "time1": "10:00"}
    refused = client.post(f"{booked.path}/ask", data=saturday)
    assert refused.status_code == 422
    assert "Time 1: that is outside the hours sessions are held" in refused.text
    assert requests_of(app_parts, booked.public_id) == []
    friday = {"csrf": token, "date1": "2026-11-27", "time1": "09:00"}
    assert client.post(f"{booked.path}/ask", data=friday).status_code == 303
    assert len(requests_of(app_parts, booked.public_id)) == 1
