"""Cancelling a paid session: the one who cancels chooses the refund (full, none, less the
late-cancellation fee), Stripe's Refunds API makes it once, the participant's notice says
it, and a refund Stripe refuses is said and stays visible until retried.

Real parts: the local fake Stripe (HTTP, Idempotency-Key honoured), the local SMTP server,
the `sessionbot` command line and the worker, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import TEST_KEY, Chat, at, make_session
from fake_stripe import FakeStripe
from outbox_kit import worker
from refund_kit import PRACTICE, paid_session

from dialogue.turn_io import Who
from ground.practice import PracticeFileError, load_practice, parse_practice
from ground.settings import Settings
from integrations import messages
from integrations.providers import payments
from scheduling import commands, payments_in
from scheduling import refunds as paid
from sessionbot import cli
from sessionbot.wiring import Parts, build
from store import clinician_rows, outbox_rows, session_rows
from store.db import Store

EARLY = at("2026-11-27 15:00")  # three days after the frozen now (Tue Nov 24, 10:00)
LATE = at("2026-11-24 18:00")  # eight hours after it: inside the 24 hours' notice


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe() as running:
        yield running


@pytest.fixture
def environ(
    tmp_path: Path, store: Store, fake: FakeStripe, smtp_server, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The settings of the command line and of the parts, pointed at the fakes."""
    practice = tmp_path / "practice.toml"
    practice.write_text(PRACTICE)
    env = {
        "SESSIONBOT_DATA_DIR": str(tmp_path / "data"),
        "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY,
        "SESSIONBOT_PUBLIC_URL": "https://sessions.example.test",
        "SESSIONBOT_DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "SESSIONBOT_PRACTICE_FILE": str(practice),
        "SESSIONBOT_SMTP_URL": smtp_server.url,
        "SESSIONBOT_MAIL_FROM": "Example Practice <sessions@practice.example>",
        "STRIPE_API_KEY": "sk_test_fake",
        "STRIPE_WEBHOOK_SECRET": fake.webhook_secret,
        "SESSIONBOT_STRIPE_API_URL": fake.url,
        "HOME": str(tmp_path),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return env


@pytest.fixture
def app(environ: dict[str, str], store: Store) -> Parts:
    return build(Settings.from_env(environ, dotenv=False), store=store)


@dataclass
class Cli:
    code: int
    out: str


def sessionbot(capsys, *args: str) -> Cli:
    code = cli.main([*args, "--user", "U_CLIN1", "--team", "T_TEST"])
    return Cli(code, capsys.readouterr().out.strip())


def row(app: Parts, public_id: str):
    with app.store.unit() as s:
        return session_rows.session_by_public_id(s, public_id)


def cancellation_email(app: Parts, smtp_server) -> str:
    """The worker's next round; the cancellation notice's text as the participant reads it."""
    worker(app).run_once()
    notices = [r for r in smtp_server.received if r.message["Subject"].startswith("Cancelled")]
    assert len(notices) == 1, [r.message["Subject"] for r in smtp_server.received]
    body = notices[0].message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def refunded_amounts(fake: FakeStripe) -> list[int]:
    return [r["amount"] for r in fake.refunds_made()]


# Asked, never guessed -----------------------------------------------------------------


def test_cancelling_a_paid_session_without_a_refund_choice_is_refused_and_says_the_choices(
    app: Parts, fake: FakeStripe, capsys, clock
) -> None:
    public_id = paid_session(app, fake, EARLY, team="T_TEST")
    said = sessionbot(capsys, "cancel", public_id)
    assert said.code == 2
    assert "J.D. paid $180.00 for this session." in said.out
    assert "Full refund ($180.00), No refund." in said.out
    assert "late-cancellation" not in said.out  # three days ahead: no fee
    assert "--refund full|none|less-fee" in said.out
    assert row(app, public_id).status == "scheduled"
    assert fake.refund_calls() == []

    less_fee = sessionbot(capsys, "cancel", public_id, "--refund", "less-fee")
    assert less_fee.code == 2
    assert less_fee.out.startswith("No late-cancellation fee applies to this session.")
    assert row(app, public_id).status == "scheduled"


def test_a_late_cancellation_offers_the_refund_less_the_fee(
    app: Parts, fake: FakeStripe, capsys, clock
) -> None:
    public_id = paid_session(app, fake, LATE, team="T_TEST")
    said = sessionbot(capsys, "cancel", public_id)
    assert said.code == 2
    assert "less than 24 hours before the start, so the late-cancellation fee applies" in said.out
    assert "Refund less the late-cancellation fee ($130.00; $50.00 kept)" in said.out


# Full, none, less the fee: each refund made once ---------------------------------------


def test_a_full_refund_is_made_once_told_and_in_the_participants_notice(
    app: Parts, fake: FakeStripe, smtp_server, capsys, clock
) -> None:
    public_id = paid_session(app, fake, EARLY, team="T_TEST")
    said = sessionbot(capsys, "cancel", public_id, "--refund", "full")
    assert said.code == 0, said.out
    assert said.out.startswith("Cancelled the session with J.D. on Fri, Nov 27, 2026, 3:00 PM EST.")
    assert said.out.endswith("Refunded $180.00 to J.D.'s card.")

    again = sessionbot(capsys, "cancel", public_id, "--refund", "full")  # a repeated call
    assert again.code == 0 and again.out.startswith("Cancel was already done: Cancelled")
    clock.shift(3600)  # and an hour later, past the double-click window
    later = sessionbot(capsys, "cancel", public_id, "--refund", "full")
    assert later.code == 0
    assert later.out.endswith("was already cancelled. Refunded $180.00 to J.D.'s card.")

    assert refunded_amounts(fake) == [18000]
    (call,) = fake.refund_calls()
    assert call.form["payment_intent"] == row(app, public_id).payment_intent
    assert call.form["amount"] == "18000" and call.form["metadata[session]"] == public_id
    assert call.headers["Idempotency-Key"].startswith("sessionbot-refund-")
    found = row(app, public_id)
    assert (found.status, found.refund_state, found.payment_status) == (
        "cancelled",
        "refunded",
        "refunded",
    )
    assert found.refund_ref == fake.refunds_made()[0]["id"]
    listed = sessionbot(capsys, "sessions", "--all", "--json")
    (record,) = json.loads(listed.out)
    assert (record["status"], record["refund"], record["refund_amount"]) == (
        "cancelled",
        "refunded",
        "180.00",
    )
    text = cancellation_email(app, smtp_server)
    assert "Your video session with" in text and "has been cancelled" in text
    assert "Your payment of $180.00 has been refunded in full to the card you paid with." in text


def test_no_refund_makes_no_stripe_call_and_the_notice_says_the_payment_was_kept(
    app: Parts, fake: FakeStripe, smtp_server, capsys, clock
) -> None:
    public_id = paid_session(app, fake, EARLY, team="T_TEST")
    said = sessionbot(capsys, "cancel", public_id, "--refund", "none")
    assert said.code == 0
    assert said.out.endswith("No refund: the payment is kept.")
    assert fake.refund_calls() == []
    found = row(app, public_id)
    assert (found.refund_state, found.payment_status) == ("kept", "paid")
    text = cancellation_email(app, smtp_server)
    assert "Your payment of $180.00 was not refunded." in text
    assert fake.refund_calls() == []  # the worker's round made none either


def test_a_late_cancellation_refunds_the_payment_less_the_fee(
    app: Parts, fake: FakeStripe, smtp_server, capsys, clock
) -> None:
    public_id = paid_session(app, fake, LATE, team="T_TEST")
    said = sessionbot(capsys, "cancel", public_id, "--refund", "less-fee")
    assert said.code == 0, said.out
    assert said.out.endswith(
        "Refunded $130.00 to J.D.'s card ($50.00 kept as the late-cancellation fee)."
    )
    assert sessionbot(capsys, "cancel", public_id, "--refund", "less-fee").code == 0
    assert refunded_amounts(fake) == [13000]
    assert len(fake.refund_calls()) == 1
    assert row(app, public_id).payment_status == "partially_refunded"
    text = cancellation_email(app, smtp_server)
    assert (
        "$130.00 of your $180.00 payment has been refunded to the card you paid with; "
        "the late-cancellation fee of $50.00 was kept."
    ) in text


def test_stripes_webhook_of_our_refund_confirms_it_without_a_second_notice(
    app: Parts, fake: FakeStripe, capsys, clock
) -> None:
    public_id = paid_session(app, fake, EARLY, team="T_TEST")
    assert sessionbot(capsys, "cancel", public_id, "--refund", "full").code == 0
    charge = fake.charges[row(app, public_id).payment_intent]
    event = fake.event("charge.refunded", charge)
    stripe = payments(app.settings)
    assert stripe is not None
    verified = stripe.verify_event(*_signed(fake, event))
    with app.store.unit() as s:
        found = session_rows.session_by_public_id(s, public_id, lock=True)
        assert verified.refund is not None and found is not None
        assert not payments_in.record_refund(
            s, found, verified.refund, clock_now(), practice=app.practice
        )
        notices = [
            m for m in outbox_rows.outbox_for_session(s, found.id) if m.kind == "clinician_notice"
        ]
    assert [n.payload for n in notices if (n.payload or "").startswith("Refunded")] == []


def _signed(fake: FakeStripe, event: dict) -> tuple[bytes, str]:
    body, headers = fake.signed(event)
    return body, headers["Stripe-Signature"]


def clock_now() -> datetime:
    return datetime.now(UTC)


# Refused: said, visible, never lost ----------------------------------------------------


def test_a_refused_refund_is_said_the_session_stays_cancelled_and_retry_makes_one(
    app: Parts, fake: FakeStripe, smtp_server, capsys, clock
) -> None:
    public_id = paid_session(app, fake, EARLY, team="T_TEST")
    fake.refuse_refunds = "card_declined"
    said = sessionbot(capsys, "cancel", public_id, "--refund", "full")
    assert said.code == 3
    assert (
        "The refund of $180.00 to J.D. did not go through: the card's bank declined the refund. "
        "The session is still cancelled"
    ) in said.out
    found = row(app, public_id)
    assert (found.status, found.refund_state, found.payment_status) == (
        "cancelled",
        "failed",
        "paid",
    )
    assert refunded_amounts(fake) == []

    # The dashboard keeps it in sight, with the words.
    with app.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1")
        shown = paid.dashboard_rows(s, clinician, app.practice, datetime.now(UTC))
    assert [(r.public_id, r.state) for r in shown] == [(public_id, "failed")]
    assert "refund failed: the card's bank declined the refund" in shown[0].text

    # The participant hears of the cancellation now, and that the refund is coming.
    text = cancellation_email(app, smtp_server)
    assert "A refund of $180.00 is being arranged" in text
    assert refunded_amounts(fake) == []  # the worker does not retry a refusal on its own

    # Retried with the same key, Stripe would repeat its refusal: a new attempt, a new key.
    fake.refuse_refunds = None
    retried = sessionbot(capsys, "cancel", public_id, "--retry-refund")
    assert retried.code == 0 and retried.out == "Refunded $180.00 to J.D.'s card."
    assert sessionbot(capsys, "cancel", public_id, "--retry-refund").code == 1
    assert refunded_amounts(fake) == [18000]
    keys = [c.headers["Idempotency-Key"] for c in fake.refund_calls()]
    assert len(keys) == 2 and len(set(keys)) == 2
    assert row(app, public_id).refund_state == "refunded"


def test_stripe_out_of_reach_is_said_and_the_refund_left_failed(
    app: Parts, fake: FakeStripe, capsys, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    public_id = paid_session(app, fake, EARLY, team="T_TEST")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    try:
        port = closed.getsockname()[1]
        monkeypatch.setenv("SESSIONBOT_STRIPE_API_URL", f"http://127.0.0.1:{port}")
        said = sessionbot(capsys, "cancel", public_id, "--refund", "full")
    finally:
        closed.close()
    assert said.code == 3
    assert "did not go through: Stripe could not be reached." in said.out
    assert row(app, public_id).refund_state == "failed"
    assert os.environ["SESSIONBOT_STRIPE_API_URL"] != fake.url


def test_a_refund_chosen_where_stripe_was_not_called_is_made_by_the_worker_and_told(
    app: Parts, fake: FakeStripe, smtp_server, clock
) -> None:
    """A face that stopped after the cancellation committed (or had no Stripe): the worker
    makes the refund before the notice goes, and tells the clinician by DM."""
    public_id = paid_session(app, fake, EARLY, team="T_TEST")
    now = datetime.now(UTC)
    with app.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1")
        done = commands.cancel(s, clinician, public_id, app.practice, now, refund="full")
    assert done.changed and done.text.endswith("Refunding $180.00 to the participant's card.")
    text = cancellation_email(app, smtp_server)  # the worker with Stripe
    assert "Your payment of $180.00 has been refunded in full" in text
    assert refunded_amounts(fake) == [18000]
    with app.store.unit() as s:
        found = session_rows.session_by_public_id(s, public_id)
        assert found is not None
        told = [m.payload for m in outbox_rows.outbox_for_session(s, found.id)]
    assert sum("Refunded $180.00 to J.D.'s card." in (m or "") for m in told) == 1
    worker(app).run_once()
    assert len(fake.refund_calls()) == 1


def test_a_series_with_a_paid_occurrence_is_not_cancelled_wholesale(
    app: Parts, fake: FakeStripe, clock
) -> None:
    public_id = paid_session(app, fake, EARLY, team="T_TEST")
    with app.store.unit() as s:
        found = session_rows.session_by_public_id(s, public_id, lock=True)
        assert found is not None
        found.series_id = "series-1"
        clinician = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1")
    with app.store.unit() as s:
        done = commands.cancel_series(s, clinician, public_id, app.practice, datetime.now(UTC))
    assert not done.changed
    assert done.text.startswith("1 of these sessions is paid (Fri, Nov 27, 2026, 3:00 PM EST)")
    assert row(app, public_id).status == "scheduled"


# In the conversation: "cancel my 3pm" ---------------------------------------------------


def test_cancel_my_3pm_asks_with_the_refund_buttons_and_one_refund_is_made(
    app: Parts, fake: FakeStripe, smtp_server, clock
) -> None:
    public_id = paid_session(app, fake, EARLY, team="T_TEST")
    chat = Chat(app, Who("T_TEST", "U_CLIN1", tz="America/New_York"))
    asked = chat.say("cancel my 3pm")
    assert asked.text == (
        "Cancel the session with J.D. on Fri, Nov 27, 2026, 3:00 PM EST? "
        "J.D. paid $180.00 for this session. Refund it?"
    )
    titles = [b.title for m in asked.messages for b in m.buttons]
    assert titles == ["Full refund ($180.00)", "No refund", "Keep it"]
    assert row(app, public_id).status == "scheduled"  # nothing before a click

    done = chat.click(asked, "Full refund")
    assert done.text.startswith("Cancelled the session with J.D. on Fri, Nov 27, 2026")
    assert "Refunding $180.00 to the participant's card." in done.text
    again = chat.click(asked, "Full refund")  # a double click
    assert again.text.startswith("Cancel was already done: Cancelled")
    assert chat.click(asked, "No refund").text.endswith("was already cancelled.")

    text = cancellation_email(app, smtp_server)  # the worker makes the refund, then sends
    assert "Your payment of $180.00 has been refunded in full" in text
    assert len(fake.refund_calls()) == 1 and refunded_amounts(fake) == [18000]


def test_cancel_in_the_conversation_names_no_session_or_several_or_keeps_it(
    app: Parts, fake: FakeStripe, clock
) -> None:
    first = paid_session(app, fake, EARLY, team="T_TEST")
    paid_session(app, fake, at("2026-11-30 15:00"), team="T_TEST")
    chat = Chat(app, Who("T_TEST", "U_CLIN1", tz="America/New_York"))
    assert chat.say("cancel").text.startswith("There's nothing in progress to cancel.")
    assert chat.say("cancel my 9am").text == (
        "I couldn't find an upcoming session of yours at 9:00 AM. Nothing was cancelled. "
        "Say “sessions” to see them."
    )
    which = chat.say("cancel my 3pm")
    assert which.text == "Which session at 3:00 PM do you want to cancel?"
    titles = [b.title for m in which.messages for b in m.buttons]
    assert titles == [
        "Fri, Nov 27, 2026, 3:00 PM EST · J.D.",
        "Mon, Nov 30, 2026, 3:00 PM EST · J.D.",
    ]
    asked = chat.click(which, "Fri, Nov 27")
    assert asked.text.startswith("Cancel the session with J.D. on Fri, Nov 27, 2026")
    assert chat.click(asked, "Keep it").text == "OK, the session is kept."
    assert row(app, first).status == "scheduled"
    assert fake.refund_calls() == []


def test_a_payment_already_refunded_at_stripe_is_said_as_such(
    app: Parts, fake: FakeStripe, capsys, clock
) -> None:
    public_id = paid_session(app, fake, EARLY, team="T_TEST")
    (checkout,) = fake.sessions
    fake.refund(checkout)  # refunded in Stripe's Dashboard; its webhook not here yet
    said = sessionbot(capsys, "cancel", public_id, "--refund", "full")
    assert said.code == 3
    assert "did not go through: the payment was already refunded at Stripe." in said.out
    assert row(app, public_id).refund_state == "failed"


def test_the_practice_file_sets_the_late_cancellation_fee_and_notice() -> None:
    default = parse_practice({})
    assert default.late_cancel_fee is None and default.cancel_notice == timedelta(hours=24)
    set_ = parse_practice({"late_cancel_fee": "50", "cancel_notice_hours": 48})
    assert set_.late_cancel_fee == Decimal("50.00") and set_.cancel_notice == timedelta(hours=48)
    for wrong in (
        {"late_cancel_fee": "-5"},
        {"late_cancel_fee": "lots"},
        {"cancel_notice_hours": -1},
    ):
        with pytest.raises(PracticeFileError):
            parse_practice(wrong)
    example = load_practice(None)
    assert example.late_cancel_fee is None and example.cancel_notice == timedelta(hours=24)


def test_a_texted_cancellation_says_the_refund_and_other_texts_do_not() -> None:
    view = messages.SessionView(
        start=EARLY,
        duration_min=60,
        participant_tz="America/Los_Angeles",
        host="Example Practice",
        page_url="https://sessions.example.test/j/x",
        rsvp_yes_url="https://sessions.example.test/j/x/rsvp?answer=yes",
        rsvp_no_url="https://sessions.example.test/j/x/rsvp?answer=no",
        refund="Your payment of $180.00 has been refunded in full to the card you paid with.",
    )
    assert messages.sms("cancellation", view) == (
        "Example Practice: your video session Fri Nov 27, 12:00 PM PST is cancelled. "
        "Your payment of $180.00 has been refunded in full to the card you paid with."
    )
    assert "refunded" not in messages.sms("reminder", view)
    assert "refunded" not in messages.email("update", view).text


def test_a_refund_asked_for_an_unpaid_session_is_said_to_have_nothing_to_refund(
    app: Parts, fake: FakeStripe, capsys, clock
) -> None:
    with app.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1", tz="America/New_York")
        session, _ = make_session(s, clinician.id, start_at=EARLY)
        public_id = session.public_id
    said = sessionbot(capsys, "cancel", public_id, "--refund", "full")
    assert said.code == 0
    assert said.out.endswith("It had no payment to refund.")
    assert fake.refund_calls() == []
