"""A double click does one thing: every action on a session, clicked twice within the
window (over signed Slack requests, on the page, from two threads at once), is done once
and the second is answered "already done"."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from conftest import at, make_session
from fake_slack import FakeSlack, Person
from fake_stripe import FakeStripe
from page_support import Booked, book, page_parts, reserve_port, serving
from test_slack_home import home_button, new_time, schedule_jd, sessions_of
from test_slack_week import edit_values, latest_home

from scheduling import commands, results
from sessionbot.wiring import Parts
from store import claim_rows, clinician_rows, outbox_rows, session_rows
from store.db import Store

_ts = itertools.count(1)


def click(person: Person, action: dict) -> None:
    """A click on App Home, each with its own `action_ts` (as two real clicks have)."""
    response = person.interact(
        {
            "type": "block_actions",
            "container": {"type": "view", "view_id": "V_HOME"},
            "view": {"type": "home", "id": "V_HOME"},
            "actions": [{**action, "action_ts": f"1700000{next(_ts):03d}.25"}],
        }
    )
    assert response.status_code == 200


def double_click(person: Person, fake: FakeSlack, action_id: str) -> list[str]:
    """Two clicks of one button, the second sent before the first is answered; the two
    answers, in the order they came."""
    button = home_button(latest_home(fake), action_id)
    click(person, button)
    click(person, button)
    return sorted((m.text for m in person.replies(2)), key=lambda t: "already done" in t)


def outbox(parts: Parts, user: str = "U_CLIN1") -> list:
    sessions = sessions_of(parts, user)
    with parts.store.unit() as s:
        return [
            m
            for x in sessions
            for m in outbox_rows.outbox_for_session(s, x.id)
            if m.kind != "clinician_notice"
        ]


def test_two_schedule_next_clicks_book_one_session_and_send_one_text(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    first, second = double_click(clinician, fake_slack, "dash:schedule_next")
    assert first.startswith("Booked the session with JD on Wed, Dec 2, 2026, 3:00 PM EST")
    assert second == "Schedule Next was already done: " + first
    assert [x.start_at for x in sessions_of(slack_parts, "U_CLIN1")] == [
        at("2026-11-25 15:00"),
        at("2026-12-02 15:00"),
    ]
    invitations = [m for m in outbox(slack_parts) if m.kind == "invitation"]
    assert [m.channel for m in invitations] == ["sms", "sms"]  # the first's and the new one's


def test_two_remind_now_clicks_send_one_reminder(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    first, second = double_click(clinician, fake_slack, "dash:remind")
    assert first.startswith("A reminder of the session on Wed, Nov 25, 2026, 3:00 PM EST")
    assert second == "Remind now was already done: " + first
    assert len([m for m in outbox(slack_parts) if ":now:" in m.dedupe_key]) == 1


def test_two_cancel_clicks_cancel_once_and_tell_once(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    first, second = double_click(clinician, fake_slack, "dash:cancel")
    assert first.startswith("Cancelled the session with JD on Wed, Nov 25, 2026, 3:00 PM EST.")
    assert second == "Cancel was already done: " + first
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.status == "cancelled"
    assert len([m for m in outbox(slack_parts) if m.kind == "cancellation"]) <= 1


def test_the_same_move_submitted_from_two_forms_moves_once(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    """Reschedule opened twice (two tabs, a double click) and both submitted."""
    schedule_jd(clinician)
    home = latest_home(fake_slack)
    click(clinician, home_button(home, "dash:reschedule"))
    click(clinician, home_button(home, "dash:reschedule"))
    forms = [c.args["view"] for c in fake_slack.wait_calls("views.open", 2)]
    for form, view_id in zip(forms, ("V_FORM_A", "V_FORM_B"), strict=True):
        answer = clinician.submit({**form, "id": view_id}, new_time("2026-11-26", "16:00"))
        assert answer.json()["response_action"] == "update"  # busy; the move comes after
    said = sorted((m.text for m in clinician.replies(2)), key=lambda t: "already done" in t)
    assert said[0].startswith("Moved the session with JD to Thu, Nov 26, 2026, 4:00 PM EST.")
    assert said[1] == "Reschedule was already done: " + said[0]
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert (session.start_at, session.sequence) == (at("2026-11-26 16:00"), 1)


def test_the_same_edit_submitted_from_two_forms_is_done_once(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    home = latest_home(fake_slack)
    click(clinician, home_button(home, "dash:edit"))
    click(clinician, home_button(home, "dash:edit"))
    forms = [c.args["view"] for c in fake_slack.wait_calls("views.open", 2)]
    for form, view_id in zip(forms, ("V_EDIT_A", "V_EDIT_B"), strict=True):
        values = edit_values(form, time="16:30", documents="none")
        answer = clinician.submit({**form, "id": view_id}, values)
        assert answer.json()["response_action"] == "update"  # busy; the change comes after
    said = sorted((m.text for m in clinician.replies(2)), key=lambda t: "already done" in t)
    assert said[0].startswith("Updated the session with JD: time Wed, Nov 25, 2026, 3:00 PM")
    assert said[1] == "Edit was already done: " + said[0]
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert (session.start_at, session.sequence) == (at("2026-11-25 16:30"), 1)


def test_schedule_next_from_two_threads_at_once_books_one(parts_any: Parts) -> None:
    """Two processes (or threads) handling two clicks at the same moment, each in its own
    transaction: one books, the other reads its answer."""
    now = datetime(2026, 11, 24, 15, tzinfo=UTC)
    with parts_any.store.unit() as s:
        me = clinician_rows.get_clinician(s, "T1", "U_RACE", tz="America/New_York")
        session, _ = make_session(s, me.id, start_at=at("2026-12-01 15:00"))
        source, me_id = session.public_id, me.id
    together = threading.Barrier(2, timeout=10)
    answers: list[results.Done] = []
    errors: list[BaseException] = []

    # On PostgreSQL both transactions are open before either claims; SQLite's units take
    # the write lock in turn (BEGIN IMMEDIATE), so there the two only start together.
    overlap = parts_any.store.engine.dialect.name != "sqlite"

    def press(n: int) -> None:
        try:
            if not overlap:
                together.wait()
            with parts_any.store.unit() as s:
                clinician = s.get_one(type(me), me_id)
                if overlap:
                    together.wait()
                answers.append(
                    commands.schedule_next(
                        s, clinician, source, 1, parts_any.practice, now, draft_id=f"click-{n}"
                    )
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=press, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with parts_any.store.unit() as s:
        mine = session_rows.list_sessions(s, me_id, include_cancelled=True)
    assert [x.start_at for x in mine] == [at("2026-12-01 15:00"), at("2026-12-08 15:00")]
    assert sorted(a.text.startswith("Schedule Next was already done") for a in answers) == [
        False,
        True,
    ]


def test_a_claim_holds_for_its_window_and_a_refusal_leaves_none(store: Store) -> None:
    window = results.CLAIM_WINDOW
    t0 = datetime(2026, 11, 24, 15, 0, 29, tzinfo=UTC)  # one second before a slot turns
    with store.unit() as s:
        first = claim_rows.claim_action(s, 7, "schedule_next", "S1", "weeks=1", t0, window)
        assert first.mine
        claim_rows.finish_claim(s, first, "booked")
    for later in (timedelta(seconds=2), window - timedelta(seconds=1)):
        with store.unit() as s:
            again = claim_rows.claim_action(
                s, 7, "schedule_next", "S1", "weeks=1", t0 + later, window
            )
        assert (again.mine, again.result) == (False, "booked"), later
    with store.unit() as s:  # other arguments, another session, another clinician: theirs
        assert claim_rows.claim_action(s, 7, "schedule_next", "S1", "weeks=2", t0, window).mine
        assert claim_rows.claim_action(s, 7, "schedule_next", "S2", "weeks=1", t0, window).mine
        assert claim_rows.claim_action(s, 8, "schedule_next", "S1", "weeks=1", t0, window).mine
    with store.unit() as s:  # once the window has passed, the action is done again
        past = claim_rows.claim_action(s, 7, "schedule_next", "S1", "weeks=1", t0 + window, window)
        assert past.mine
        claim_rows.release_claim(s, past)  # ...and refused: the next try is not "already done"
    with store.unit() as s:
        assert claim_rows.claim_action(
            s, 7, "schedule_next", "S1", "weeks=1", t0 + window, window
        ).mine


# The participant page ---------------------------------------------------------------------


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as running:
        yield running


@pytest.fixture
def page(tmp_path: Path, store: Store, fake_stripe: FakeStripe) -> Iterator[tuple[Parts, str]]:
    sock = reserve_port()
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    parts = page_parts(tmp_path, store, fake_stripe, public)
    with serving(parts, sock) as url:
        yield parts, url


def at_once(count: int, post: Callable[[], httpx.Response]) -> list[httpx.Response]:
    together = threading.Barrier(count, timeout=10)
    answers: list[httpx.Response] = []

    def one() -> None:
        together.wait()
        answers.append(post())

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def page_csrf(http: httpx.Client, booked: Booked) -> str:
    import re

    found = re.search(r'name="csrf" value="([0-9a-f]+)"', http.get(booked.path).text)
    assert found
    return found.group(1)


def test_two_pay_now_clicks_at_once_call_stripe_once(
    page: tuple[Parts, str], fake_stripe: FakeStripe
) -> None:
    parts, url = page
    booked = book(parts, datetime.now(UTC) + timedelta(days=2))
    fake_stripe.slow_down = 0.5  # a Stripe taking its time
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as http:
        token = page_csrf(http, booked)
        answers = at_once(2, lambda: http.post(f"{booked.path}/pay", data={"csrf": token}))
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert len(fake_stripe.created()) == 1  # one request to create, not two
    assert len(fake_stripe.sessions) == 1


def test_two_rsvp_posts_tell_the_clinician_once(page: tuple[Parts, str]) -> None:
    parts, url = page
    booked = book(parts, datetime.now(UTC) + timedelta(days=2))
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as http:
        token = page_csrf(http, booked)
        form = {"csrf": token, "answer": "no"}
        answers = at_once(2, lambda: http.post(f"{booked.path}/rsvp", data=form))
    assert [a.headers["location"].endswith("?m=rsvp-no") for a in answers] == [True, True]
    with parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, booked.public_id)
        assert row is not None
        told = [
            m for m in outbox_rows.outbox_for_session(s, row.id) if m.kind == "clinician_notice"
        ]
    assert len(told) == 1


def test_two_serve_processes_given_the_same_click_at_once_book_one(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """Two `serve` processes on one store, each handed one of two Schedule Next clicks at
    the same moment (two workers behind a load balancer)."""
    from conftest import TEST_KEY
    from fake_slack import slack_env
    from serve_process import serve_process

    (tmp_path / "data").mkdir()
    store = Store.open(f"sqlite:///{tmp_path / 'data' / 'sessionbot.db'}", [TEST_KEY])
    with store.unit() as s:
        me = clinician_rows.get_clinician(s, "T1", "U_TWO", tz="America/New_York")
        start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
        session, _ = make_session(s, me.id, start_at=start, invite_channel="none", email=None)
        source, me_id = session.public_id, me.id
    env = slack_env(fake_slack)
    with (
        serve_process(tmp_path, log_name="a.log", env=env) as a,
        serve_process(tmp_path, log_name="b.log", env=env) as b,
    ):
        people = [Person(x, fake_slack, "U_TWO") for x in (a, b)]
        button = {"type": "button", "action_id": "dash:schedule_next", "value": source}
        together = threading.Barrier(2, timeout=10)

        def press(person: Person, n: int) -> None:
            together.wait()
            click(person, button)

        threads = [threading.Thread(target=press, args=(p, n)) for n, p in enumerate(people)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        said = sorted((m.text for m in people[0].replies(2)), key=lambda t: "already" in t)
    with store.unit() as s:
        mine = session_rows.list_sessions(s, me_id, include_cancelled=True)
    store.dispose()
    assert len(mine) == 2 and mine[0].start_at == start  # the first and one more
    assert said[0].startswith("Booked the session with J.D.")
    assert said[1] == "Schedule Next was already done: " + said[0]
