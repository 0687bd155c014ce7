"""The payment step in Slack, when the practice takes payments (a Stripe key is set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from fake_slack import FakeSlack, Person, SlackApp, find_button, find_element, option, slack_env

from sessionbot.asgi import create_app
from sessionbot.wiring import Parts, build
from store import clinician_rows, session_rows
from store.db import Store


@pytest.fixture
def paying_parts(tmp_path: Path, fake_slack: FakeSlack, sqlite_store: Store) -> Parts:
    env = slack_env(fake_slack, STRIPE_API_KEY="sk_test_fake")
    return build(make_settings(tmp_path, **env), store=sqlite_store)


@pytest.fixture
def clinician(paying_parts: Parts, fake_slack: FakeSlack, clock: Any) -> Iterator[Person]:
    app = SlackApp(create_app(paying_parts)).start()
    yield Person(app, fake_slack, "U_CLIN1")
    app.stop()


def test_clicked_conversation_with_payment_saves_the_amount_as_pending(
    clinician: Person, fake_slack: FakeSlack, paying_parts: Parts
) -> None:
    ask_date = clinician.say("schedule")
    ask_time = clinician.pick(ask_date, "turn:date", selected_date="2026-12-01")
    times = find_element(ask_time, "turn:time")
    clinician.pick(ask_time, "turn:time", selected_option=option(times, "3:00 PM"))
    ask_channel = clinician.say("Jane Doe")
    clinician.click(ask_channel, "E-mail invitation")
    ask_zone = clinician.say("jane.doe@example.com")
    ask_documents = clinician.click(ask_zone, "Eastern")
    packages = find_element(ask_documents, "turn:pick")
    ask_payment = clinician.pick(
        ask_documents, "turn:pick", selected_option=option(packages, "No documents")
    )
    assert "Require payment" in ask_payment.text
    ask_service = clinician.click(ask_payment, "Yes, require payment")
    services = find_element(ask_service, "turn:pick")
    assert services["type"] == "static_select"
    follow_up = option(services, "Follow-up session — $120.00")
    ask_amount = clinician.pick(ask_service, "turn:pick", selected_option=follow_up)
    # The amount starts at the service's price, and stays editable.
    amount = find_element(ask_amount, "turn:amount")
    assert amount["type"] == "plain_text_input" and amount["initial_value"] == "120.00"
    assert find_button(ask_amount, "Charge $120.00")
    refused = clinician.pick(ask_amount, "turn:amount", value="0")
    assert refused.text == "The amount must be more than $0."
    summary = clinician.say("95.50")  # typing always works too
    assert "$95.50" in summary.text and "Follow-up session" in summary.text
    saved = clinician.click(summary, "Save")
    assert saved.text.startswith("Saved: session with Jane Doe")
    with paying_parts.store.unit() as s:
        (session,) = session_rows.list_sessions(
            s, clinician_rows.get_clinician(s, "T1", "U_CLIN1").id
        )
        assert (session.service, session.amount_cents) == ("followup", 9550)
        assert session.payment_status == "pending"
    # The dashboard shows the payment status.
    home = fake_slack.wait_calls("views.publish", 1)[-1]
    assert "Payment: pending" in str(home.args["view"])
    for answered in (ask_service, ask_amount):
        assert answered.updates == 1


def test_the_price_is_charged_as_it_is_with_one_click(
    clinician: Person, paying_parts: Parts
) -> None:
    clinician.say("JD tomorrow 3pm, no invitation, no documents")
    ask = clinician.say("same")  # the participant's zone: the clinician's own
    assert "Require payment" in ask.text, ask.text
    ask_service = clinician.click(ask, "Yes, require payment")
    services = find_element(ask_service, "turn:pick")
    ask_amount = clinician.pick(
        ask_service, "turn:pick", selected_option=option(services, "Brief check-in — $60.00")
    )
    summary = clinician.click(ask_amount, "Charge $60.00")
    clinician.click(summary, "Save")
    with paying_parts.store.unit() as s:
        (session,) = session_rows.list_sessions(
            s, clinician_rows.get_clinician(s, "T1", "U_CLIN1").id
        )
        assert (session.amount_cents, session.payment_status) == (6000, "pending")


def test_a_refund_is_told_by_dm_and_shows_on_the_dashboard_and_in_sessions_json(
    tmp_path: Path,
    fake_slack: FakeSlack,
    sqlite_store: Store,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json
    import re

    from conftest import TEST_KEY, at
    from fake_stripe import FakeStripe
    from page_support import book

    from integrations.providers import senders
    from sessionbot import cli
    from sessionbot.outbox.worker import Worker

    with FakeStripe() as stripe:
        env = slack_env(
            fake_slack,
            STRIPE_API_KEY="sk_test_fake",
            STRIPE_WEBHOOK_SECRET=stripe.webhook_secret,
            SESSIONBOT_STRIPE_API_URL=stripe.url,
        )
        parts = build(make_settings(tmp_path, **env), store=sqlite_store)
        booked = book(parts, at("2026-11-25 15:00"), team="T1")
        app = SlackApp(create_app(parts)).start()
        try:
            stripe.webhook_url = f"{app.url}/webhooks/stripe"
            page = app.http.get(booked.path).text
            found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
            assert found is not None
            csrf = found.group(1)
            checkout = app.http.post(f"{booked.path}/pay", data={"csrf": csrf})
            cs_id = checkout.headers["location"].rsplit("/", 1)[1]
            stripe.complete(cs_id)
            stripe.refund(cs_id, 8000)
            stripe.refund(cs_id)
            assert [w.text for w in stripe.webhooks] == ["recorded", "recorded", "recorded"]
            Worker(
                parts.store,
                parts.practice,
                parts.settings,
                senders(parts.settings, parts.store),
            ).run_once()
            told = [c.args["text"] for c in fake_slack.of("chat.postMessage")]
            assert told[0].startswith("Payment received: $180.00 from J.D.")
            assert told[1].startswith("Partly refunded: $80.00 of $180.00 to J.D.")
            assert told[2].startswith("Refunded: $180.00 to J.D.")
            clinician = Person(app, fake_slack, "U_CLIN1")
            clinician.event({"type": "app_home_opened", "user": "U_CLIN1", "tab": "home"})
            home = fake_slack.wait_calls("views.publish", 1)[-1]
            assert "Payment: refunded (unpaid again)" in str(home.args["view"])
        finally:
            app.stop()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SESSIONBOT_ENCRYPTION_KEY", TEST_KEY)
    monkeypatch.setenv("SESSIONBOT_DATABASE_URL", str(sqlite_store.engine.url))
    assert cli.main(["sessions", "--json", "--team", "T1", "--user", "U_CLIN1"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["payment_status"], row["amount"], row["amount_refunded"]) == (
        "refunded",
        "180.00",
        "180.00",
    )
