"""Cancelling a paid session from App Home: the form asks what to refund, the refund is
made once at the fake Stripe (a double submit, a second form, a double click on Retry),
the DM says it, and a refused refund is shown on the dashboard with Retry refund.

Signed requests to the real Bolt app on a real server; the fake Slack and fake Stripe on
loopback; SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import at, make_settings
from fake_slack import FakeSlack, Person, SlackApp, slack_env
from fake_stripe import FakeStripe
from refund_kit import PRACTICE, paid_session

from sessionbot.asgi import create_app
from sessionbot.wiring import Parts, build
from store import session_rows
from store.db import Store

START = at("2026-11-27 15:00")


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe() as running:
        yield running


@pytest.fixture
def parts(tmp_path: Path, fake_slack: FakeSlack, fake: FakeStripe, store: Store) -> Parts:
    practice = tmp_path / "practice.toml"
    practice.write_text(PRACTICE)
    env = slack_env(
        fake_slack,
        STRIPE_API_KEY="sk_test_fake",
        STRIPE_WEBHOOK_SECRET=fake.webhook_secret,
        SESSIONBOT_STRIPE_API_URL=fake.url,
        SESSIONBOT_PRACTICE_FILE=str(practice),
    )
    return build(make_settings(tmp_path, **env), store=store)


@pytest.fixture
def clinician(parts: Parts, fake_slack: FakeSlack, clock) -> Iterator[Person]:
    app = SlackApp(create_app(parts)).start()
    try:
        yield Person(app, fake_slack, "U_CLIN1")
    finally:
        app.stop()


def open_home(person: Person) -> dict:
    person.event({"type": "app_home_opened", "user": person.user, "tab": "home"})
    return person.slack.wait_calls("views.publish", 1)[-1].args["view"]


def click(person: Person, element: dict, n: int = 0) -> None:
    person.interact(
        {
            "type": "block_actions",
            "container": {"type": "view", "view_id": "V_HOME"},
            "view": {"type": "home", "id": "V_HOME"},
            "actions": [{**element, "action_ts": f"{len(person.slack.calls)}.{n}"}],
        }
    )


def button(view: dict, action_id: str) -> dict:
    for block in view["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return element
    raise AssertionError(f"no {action_id} in {view}")


def choose(option: str) -> dict:
    return {
        "refund": {
            "refund": {"type": "radio_buttons", "selected_option": {"value": option}},
        }
    }


def state(parts: Parts, public_id: str) -> tuple[str, str | None]:
    with parts.store.unit() as s:
        found = session_rows.session_by_public_id(s, public_id)
        assert found is not None
        return found.status, found.refund_state


def test_a_paid_sessions_cancel_asks_what_to_refund_and_refunds_once_on_a_double_submit(
    clinician: Person, fake_slack: FakeSlack, fake: FakeStripe, parts: Parts
) -> None:
    public_id = paid_session(parts, fake, START, team=clinician.team)
    home = open_home(clinician)
    cancel = button(home, "dash:cancel_paid")
    assert "confirm" not in cancel  # the form is the confirmation
    click(clinician, cancel)
    (opened,) = fake_slack.wait_calls("views.open", 1)
    form = opened.args["view"]
    assert form["callback_id"] == "cancel_paid"
    said = str(form)
    assert "Cancel the session with J.D. on Fri, Nov 27, 2026, 3:00 PM EST?" in said
    assert "J.D. paid $180.00 for this session." in said
    assert "Full refund ($180.00)" in said and "No refund" in said
    assert "late-cancellation" not in said  # three days ahead: no fee offered
    assert "Jane" not in said

    nothing = clinician.submit(form, {"refund": {"refund": {"type": "radio_buttons"}}})
    assert nothing.json() == {
        "response_action": "errors",
        "errors": {"refund": "Choose what to refund."},
    }
    assert state(parts, public_id) == ("scheduled", None)

    # A double click on Cancel opened a second form; Slack gives each form its own id.
    click(clinician, cancel, 1)
    second = {**fake_slack.wait_calls("views.open", 2)[1].args["view"], "id": "V_SECOND"}
    for _ in range(2):  # a double click on the form's button
        assert clinician.submit(form, choose("full")).status_code == 200
    (told,) = clinician.replies()
    assert told.text.startswith("Cancelled the session with J.D. on Fri, Nov 27, 2026")
    assert told.text.endswith("Refunded $180.00 to J.D.'s card.")
    assert clinician.submit(second, choose("full")).status_code == 200
    (again,) = clinician.replies()
    assert again.text.startswith("Cancel was already done: Cancelled the session with J.D.")
    fake_slack.quiet()
    assert len(fake.refund_calls()) == 1
    assert [r["amount"] for r in fake.refunds_made()] == [18000]
    assert state(parts, public_id) == ("cancelled", "refunded")
    republished = fake_slack.of("views.publish")[-1].args["view"]
    assert "Refunds of cancelled sessions" in str(republished)
    assert "refunded $180.00" in str(republished)


def test_a_refused_refund_is_said_shown_failed_and_retry_refunds_once_on_a_double_click(
    clinician: Person, fake_slack: FakeSlack, fake: FakeStripe, parts: Parts
) -> None:
    public_id = paid_session(parts, fake, START, team=clinician.team)
    click(clinician, button(open_home(clinician), "dash:cancel_paid"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    fake.refuse_refunds = "card_declined"
    assert clinician.submit(form, choose("full")).status_code == 200
    (told,) = clinician.replies()
    assert told.text.startswith("Cancelled the session with J.D.")
    assert (
        "The refund of $180.00 to J.D. did not go through: the card's bank declined the refund. "
        "The session is still cancelled" in told.text
    )
    assert state(parts, public_id) == ("cancelled", "failed")
    home = fake_slack.wait(
        lambda: [
            c.args["view"]
            for c in fake_slack.of("views.publish")
            if "Retry refund" in str(c.args["view"])
        ]
    )[-1]
    assert "refund failed: the card's bank declined the refund" in str(home)

    fake.refuse_refunds = None
    retry = button(home, "dash:retry_refund")
    click(clinician, retry, 1)
    click(clinician, retry, 2)  # a double click
    first, second = clinician.replies(2)
    assert first.text == "Refunded $180.00 to J.D.'s card."
    assert second.text == "Refunded $180.00 to J.D.'s card."
    fake_slack.quiet()
    assert [r["amount"] for r in fake.refunds_made()] == [18000]
    assert state(parts, public_id) == ("cancelled", "refunded")
