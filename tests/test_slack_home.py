"""The dashboard (App Home and /sessions) and OAuth installs into other workspaces."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

from conftest import at, make_session, make_settings
from fake_slack import FakeSlack, Person, SlackApp, slack_env
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

from sessionbot.asgi import create_app
from sessionbot.wiring import Parts, build
from store import clinician_rows, session_rows
from store.db import Store


def sessions_of(parts: Parts, user: str, team: str = "T1") -> list:
    with parts.store.unit() as s:
        found = clinician_rows.get_clinician(s, team, user)
        return session_rows.list_sessions(s, found.id, include_cancelled=True)


def add_sessions(parts: Parts, user: str, count: int) -> None:
    with parts.store.unit() as s:
        owner = clinician_rows.get_clinician(s, "T1", user, tz="America/New_York")
        for i in range(count):
            make_session(
                s,
                owner.id,
                draft_id=f"{user}-{i}",
                start_at=at("2026-11-25 09:00") + timedelta(hours=i),
                participant=f"Jane Doe {i}",
                invite_channel="none",
                email=None,
                participant_tz="America/New_York",
                invite_status="not_sent",
            )


def test_app_home_lists_sessions_with_initials_and_pages(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    add_sessions(slack_parts, "U_CLIN1", 45)
    add_sessions(slack_parts, "U_OTHER", 3)
    clinician.event({"type": "app_home_opened", "user": clinician.user, "tab": "home"})
    (first,) = fake_slack.wait_calls("views.publish", 1)
    view = first.args["view"]
    assert first.args["user_id"] == "U_CLIN1"
    assert len(view["blocks"]) <= 100  # the fake also parses every block
    shown = str(view)
    assert "45 upcoming" in shown and "Page 1 of 3" in shown
    assert "Wed, Nov 25, 2026, 9:00 AM EST* · J.D.0." in shown
    assert "Jane" not in shown
    later = next(
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == "dash:next"
    )
    home = {"type": "view", "view_id": "V1"}
    clinician.interact(
        {
            "type": "block_actions",
            "container": home,
            "view": {"type": "home", "id": "V1"},
            "actions": [{**later, "action_ts": "2.1"}],
        }
    )
    second = fake_slack.wait_calls("views.publish", 2)[-1]
    assert "Page 2 of 3" in str(second.args["view"])


def test_sessions_command_opens_the_dashboard_privately(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    add_sessions(slack_parts, "U_CLIN1", 2)
    assert clinician.command("/sessions", channel="C_GENERAL").text == ""
    (opened,) = fake_slack.wait_calls("views.open", 1)
    assert opened.args["view"]["type"] == "modal"
    assert "2 upcoming" in str(opened.args["view"])
    assert not fake_slack.of("chat.postMessage")


def test_oauth_install_round_trip(
    tmp_path: Path, fake_slack: FakeSlack, sqlite_store: Store, clock
) -> None:
    env = slack_env(fake_slack, SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="oauth-secret")
    del env["SLACK_BOT_TOKEN"]
    parts = build(make_settings(tmp_path, **env), store=sqlite_store)
    app = SlackApp(create_app(parts)).start()
    try:
        page = app.http.get("/slack/install")
        assert page.status_code == 200
        found = re.search(r"state=([\w-]+)", page.text)
        assert found is not None
        state = found.group(1)
        assert "client_id=111.222" in page.text and "im%3Ahistory" in page.text.replace(":", "%3A")
        # The browser returns the state cookie (set Secure; this test server is plain HTTP).
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        done = app.http.get(
            "/slack/oauth_redirect",
            params={"code": "the-code", "state": state},
            headers={"Cookie": cookie},
        )
        assert done.status_code == 200, done.text
        (exchange,) = fake_slack.of("oauth.v2.access")
        assert exchange.args["code"] == "the-code"
        stored = SQLAlchemyInstallationStore(client_id="111.222", engine=parts.store.engine)
        bot = stored.find_bot(enterprise_id=None, team_id="T_NEW")
        assert bot is not None and bot.bot_token == "xoxb-installed"
        # The new workspace's clinicians are answered with its own token.
        newcomer = Person(app, fake_slack, "U_NEWDOC", team="T_NEW")
        assert "What date" in newcomer.say("schedule").text
        assert fake_slack.of("chat.postMessage")[-1].token == "xoxb-installed"
        # A replayed state is refused.
        again = app.http.get(
            "/slack/oauth_redirect",
            params={"code": "the-code", "state": state},
            headers={"Cookie": cookie},
        )
        assert again.status_code >= 400
    finally:
        app.stop()


def schedule_jd(person: Person) -> None:
    person.say("JD tomorrow 3pm by text +1 617 555 0101, intake packet")
    person.say("Pacific")
    assert person.say("save").text.startswith("Saved")


def click_on_home(person: Person, action: dict) -> None:
    person.interact(
        {
            "type": "block_actions",
            "container": {"type": "view", "view_id": "V_HOME"},
            "view": {"type": "home", "id": "V_HOME"},
            "actions": [{**action, "action_ts": f"{len(person.slack.calls)}.5"}],
        }
    )


def home_button(view: dict, action_id: str) -> dict:
    return next(
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == action_id
    )


def submitted(person: Person, form: dict, values: dict) -> dict:
    """Submit `form` as Slack does: the ack shows the form busy at once (its fields kept),
    and the listener then shows what comes next in the same modal (`views.update` of its
    id); returned with that id, as Slack keeps it, so it can be submitted again."""
    digest = hashlib.sha256(json.dumps(form, sort_keys=True).encode()).hexdigest()[:10]
    form = {**form, "id": form.get("id") or f"V{digest}"}
    fake = person.slack
    before = len(fake.of("views.update"))
    answer = person.submit(form, values).json()
    assert answer["response_action"] == "update", answer
    busy = answer["view"]
    assert "Checking…" in str(busy)
    assert inputs(busy) == inputs(form)  # what was typed stays
    (shown,) = fake.wait(
        lambda: [c for c in fake.of("views.update")[before:] if c.args["view_id"] == form["id"]]
    )
    return {**shown.args["view"], "id": form["id"]}


def inputs(view: dict) -> list[tuple[str, str]]:
    return [
        (b["block_id"], b["element"]["action_id"]) for b in view["blocks"] if b["type"] == "input"
    ]


def new_time(day: str, clock: str) -> dict:
    return {
        "date": {"date": {"type": "datepicker", "selected_date": day}},
        "time": {
            "time": {
                "type": "static_select",
                "selected_option": {"value": clock, "text": {"type": "plain_text", "text": clock}},
            }
        },
    }


def test_reschedule_from_app_home_moves_the_session_and_tells_the_clinician(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    home = fake_slack.wait_calls("views.publish", 1)[-1].args["view"]
    click_on_home(clinician, home_button(home, "dash:reschedule"))
    (opened,) = fake_slack.wait_calls("views.open", 1)
    form = opened.args["view"]
    assert form["callback_id"] == "reschedule"
    assert "Move the session with JD on Wed, Nov 25, 2026, 3:00 PM EST" in str(form)
    assert "Jane" not in str(form)
    # A new date and time in the clinician's zone (Eastern): Friday 4:30 PM.
    shown = submitted(clinician, form, new_time("2026-11-27", "16:30"))
    assert "Moved the session with JD to Fri, Nov 27, 2026, 4:30 PM EST." in str(shown)
    assert shown["close"]["text"] == "Close" and "submit" not in shown
    (told,) = clinician.replies()
    assert told.text == "Moved the session with JD to Fri, Nov 27, 2026, 4:30 PM EST."
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.start_at.isoformat() == "2026-11-27T21:30:00+00:00"
    # App Home was published again with the new time.
    republished = fake_slack.wait(
        lambda: [c for c in fake_slack.of("views.publish") if "Nov 27" in str(c.args["view"])]
    )
    assert "Fri, Nov 27, 2026, 4:30 PM EST" in str(republished[-1].args["view"])


def test_a_double_submitted_reschedule_moves_once_and_tells_once(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    home = fake_slack.wait_calls("views.publish", 1)[-1].args["view"]
    click_on_home(clinician, home_button(home, "dash:reschedule"))
    form = {**fake_slack.wait_calls("views.open", 1)[0].args["view"], "id": "V_TWICE"}
    for _ in range(2):
        assert clinician.submit(form, new_time("2026-11-27", "16:30")).status_code == 200
    (told,) = clinician.replies()
    fake_slack.quiet()
    assert len(clinician.messages()) == clinician.seen  # no second "Moved…"
    assert told.text.startswith("Moved the session with JD")
    # The form is left saying what was done, or that it was sent already; never busy.
    shown = [str(c.args["view"]) for c in fake_slack.of("views.update")]
    assert len(shown) == 2 and "Checking" not in str(shown)
    assert any("Moved the session with JD" in view for view in shown)
    assert any("This form was sent already" in view for view in shown)
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.sequence == 1  # one update for the participant, not two


def test_reschedule_to_a_past_time_is_refused_in_the_form(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    home = fake_slack.wait_calls("views.publish", 1)[-1].args["view"]
    click_on_home(clinician, home_button(home, "dash:reschedule"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    # Frozen at Tuesday 10:00 AM Eastern: 9:00 AM today has passed, so has yesterday.
    earlier_today = clinician.submit(form, new_time("2026-11-24", "09:00"))
    assert earlier_today.json() == {
        "response_action": "errors",
        "errors": {"time": "That time has passed: pick a later time."},
    }
    yesterday = clinician.submit(form, new_time("2026-11-23", "16:00"))
    assert yesterday.json()["errors"] == {
        "date": "That date has passed: pick today or a later date."
    }
    fake_slack.quiet()
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.start_at.isoformat() == "2026-11-25T20:00:00+00:00"
    assert len(clinician.messages()) == 3  # nothing told: the form said it


def test_reschedule_to_a_time_the_clocks_skip_is_refused_in_the_form(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    home = fake_slack.wait_calls("views.publish", 1)[-1].args["view"]
    click_on_home(clinician, home_button(home, "dash:reschedule"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    skipped = clinician.submit(form, new_time("2027-03-14", "02:30"))  # spring forward
    assert skipped.json()["errors"] == {
        "time": "2:30 AM doesn't exist on March 14: the clocks move forward then."
    }
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.start_at.isoformat() == "2026-11-25T20:00:00+00:00"


def test_a_clinician_cannot_reschedule_another_clinicians_session(
    running: SlackApp, clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    home = fake_slack.wait_calls("views.publish", 1)[-1].args["view"]
    button = home_button(home, "dash:reschedule")
    intruder = Person(running, fake_slack, "U_OTHER")
    click_on_home(intruder, button)
    (told,) = intruder.replies()
    assert told.text == "I couldn't find that session among yours."
    # Even with the owner's form in hand, submitting it changes nothing.
    click_on_home(clinician, button)
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    assert intruder.submit(form, new_time("2026-11-27", "16:30")).status_code == 200
    (told,) = intruder.replies()
    assert told.text == "I couldn't find that session among yours."
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.start_at.isoformat() == "2026-11-25T20:00:00+00:00"
