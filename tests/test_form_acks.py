"""A submitted Reschedule or Edit form is acknowledged without the store: the ack checks
what the form itself holds (a date, a time in the zone it was opened with, a phone or an
amount) and answers with the form marked busy; what needs the store (an overlap, the
working hours, the session still there, the role) is asked after the ack, and the form
then shows the question again or what was done, by `views.update`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from conftest import at
from fake_slack import FakeSlack, Person, SlackApp
from slack_sdk.models.views import View
from test_roles_slack import grant
from test_slack_home import click_on_home, home_button, new_time, schedule_jd, sessions_of
from test_slack_week import edit_values, latest_home

from bot import form_views
from bot.payloads import SlackView
from sessionbot.wiring import Parts
from store import audit

DR = "U_CLIN1"
ACKED_WITHIN = 1.0  # seconds; Slack shows the user an error after 3


def opened(person: Person, fake: FakeSlack, action_id: str) -> dict:
    click_on_home(person, home_button(latest_home(fake), action_id))
    return fake.wait_calls("views.open", len(fake.of("views.open")) + 1)[-1].args["view"]


def updates_of(fake: FakeSlack, view_id: str) -> list[dict]:
    return [c.args["view"] for c in fake.of("views.update") if c.args["view_id"] == view_id]


FORMS: dict[str, tuple[str, Callable[[dict], dict], str]] = {
    "reschedule": (
        "dash:reschedule",
        lambda form: new_time("2026-11-27", "16:30"),
        "Moved the session with JD to Fri, Nov 27, 2026, 4:30 PM EST.",
    ),
    "edit": (
        "dash:edit",
        lambda form: edit_values(form, date="2026-11-27", time="16:30"),
        "Updated the session with JD: time Wed, Nov 25, 2026, 3:00 PM EST → "
        "Fri, Nov 27, 2026, 4:30 PM EST.",
    ),
}


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
@pytest.mark.parametrize("kind", sorted(FORMS))
def test_a_form_is_acked_at_once_while_the_sessions_table_is_locked(
    kind: str, clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    """Another connection holds `LOCK TABLE scheduled_sessions`: the ack still answers at
    once with the form marked busy; the move waits for the lock, then shows in the form.
    (PostgreSQL only: SQLite locks the whole file, so the Slack inbox's insert, made
    before every ack by design (bot/inbox.py), would wait for it too.)"""
    schedule_jd(clinician)
    action_id, values, said = FORMS[kind]
    form = {**opened(clinician, fake_slack, action_id), "id": f"V_{kind.upper()}"}
    with slack_parts.store.engine.connect() as other:
        locking = other.begin()
        other.exec_driver_sql("LOCK TABLE scheduled_sessions IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        answer = clinician.submit(form, values(form))
        acked_in = time.monotonic() - started
        assert answer.status_code == 200 and acked_in < ACKED_WITHIN, acked_in
        busy = answer.json()
        assert busy["response_action"] == "update" and "Checking…" in str(busy["view"])
        fake_slack.quiet(1.0)
        assert updates_of(fake_slack, form["id"]) == []  # the listener waits for the lock
        assert not [m for m in clinician.messages() if m.text.startswith(said[:10])]
        locking.rollback()
    shown = fake_slack.wait(lambda: updates_of(fake_slack, form["id"]))[-1]
    assert said in str(shown) and shown["close"]["text"] == "Close"
    (told,) = [m for m in clinician.replies() if m.text.startswith(said[:10])]
    assert told.text.startswith(said)
    (session,) = sessions_of(slack_parts, DR)
    assert session.start_at == at("2026-11-27 16:30")


def test_the_edit_form_carries_ids_and_times_only_and_its_ack_checks_fields_alone(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    form = opened(clinician, fake_slack, "dash:edit")
    meta = json.loads(form["private_metadata"])
    assert set(meta) == {"id", "tz", "start"}  # no participant's details in the metadata
    assert meta["tz"] == "America/New_York" and meta["start"] == "2026-11-25T20:00:00+00:00"
    # A phone that is not one and a time that has passed are said by their fields at once.
    bad = clinician.submit(form, edit_values(form, phone="555", time="09:00", date="2026-11-24"))
    errors = bad.json()["errors"]
    assert set(errors) == {"phone", "time"}
    assert errors["time"] == "That time has passed: pick a later time."
    # A form whose metadata is not a zone is out of date, not an exception.
    forged = {**form, "private_metadata": json.dumps({**meta, "tz": "Mars/Olympus"})}
    assert clinician.submit(forged, edit_values(form)).json() == {
        "response_action": "errors",
        "errors": {"date": "This form is out of date: open Edit again."},
    }
    fake_slack.quiet()
    assert fake_slack.of("views.update") == []
    (session,) = sessions_of(slack_parts, DR)
    assert session.sequence == 0


def test_a_supervisors_submitted_form_is_refused_in_the_form_and_in_the_dm(
    running: SlackApp, clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    form = {**opened(clinician, fake_slack, "dash:reschedule"), "id": "V_CRAFTED"}
    grant(slack_parts, "U_SUPER", "supervisor", DR)
    boss = Person(running, fake_slack, "U_SUPER")
    assert boss.command("/sessions", f"for <@{DR}|drlee>").status_code == 200
    fake_slack.wait_calls("views.open", 2)
    answer = boss.submit(form, new_time("2026-11-27", "16:30")).json()
    assert answer["response_action"] == "update" and "Checking…" in str(answer["view"])
    shown = fake_slack.wait(lambda: updates_of(fake_slack, "V_CRAFTED"))[-1]
    words = f"As {DR}'s supervisor you can see their sessions but not"
    assert words in str(shown) and "submit" not in shown
    (told,) = boss.replies()
    assert told.text.startswith(words)
    (session,) = sessions_of(slack_parts, DR)
    assert session.start_at == at("2026-11-25 15:00")
    with slack_parts.store.reading() as s:
        refused = [r.actor for r in audit.rows(s) if r.action == "refused"]
    assert refused == ["T1:U_SUPER"]


def test_the_busy_form_keeps_every_field_and_the_last_screen_only_closes() -> None:
    form: SlackView = {
        "id": "V1",
        "type": "modal",
        "callback_id": "reschedule",
        "title": {"type": "plain_text", "text": "Reschedule"},
        "submit": {"type": "plain_text", "text": "Reschedule"},
        "close": {"type": "plain_text", "text": "Keep it"},
        "private_metadata": json.dumps({"id": "S1", "tz": "UTC", "confirmed": "x"}),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Move the session"}},
            {"type": "section", "block_id": "overlap", "text": {"type": "mrkdwn", "text": "⚠"}},
            {
                "type": "input",
                "block_id": "date",
                "label": {"type": "plain_text", "text": "New date"},
                "element": {"type": "datepicker", "action_id": "date"},
            },
        ],
        "state": {"values": {}},
    }
    # As Slack reads it: a dict of whatever the view holds.
    busy: dict[str, Any] = form_views.busy_view(form)
    View(**busy).validate_json()
    assert [b.get("block_id") for b in busy["blocks"]] == [None, "status", "date"]
    assert busy["private_metadata"] == form["private_metadata"]  # submitting it again works
    assert busy["submit"] == form["submit"] and "state" not in busy and "id" not in busy
    done = form_views.done_view(form, "Moved the session with JD.").to_dict()
    assert done["title"]["text"] == "Reschedule" and done["close"]["text"] == "Close"
    assert "submit" not in done and "Moved the session with JD." in str(done["blocks"])
