"""Roles in Slack over signed requests (issue 20), on SQLite and PostgreSQL: a scheduler
books for their clinician with "/schedule for @Dr Lee …" and cancels from the App Home
that then shows the clinician's sessions; an unassigned scheduler and a supervisor are
refused in words, in the conversation and on the dashboard's buttons, and each refusal is
audited; the installer of the app is the practice's first admin."""

from __future__ import annotations

from fake_slack import FakeSlack, Person, SlackApp
from slack_sdk.oauth.installation_store import Installation
from test_slack_home import click_on_home, home_button, new_time, sessions_of, submitted
from test_slack_week import latest_home

from bot.installs import installation_store
from sessionbot.wiring import Parts
from store import audit, outbox_rows, roles

TEAM, DR = "T1", "U_CLIN1"
BOOK = "JD tomorrow 3pm by text +1 617 555 0101, intake packet"


def grant(parts: Parts, user: str, role: str, *clinicians: str) -> None:
    assert parts.scheduler.grant_role(TEAM, user, role, list(clinicians))


def refusals(parts: Parts) -> list[tuple[str, str | None]]:
    with parts.store.reading() as s:
        return [(r.actor, r.for_clinician) for r in audit.rows(s) if r.action == "refused"]


def test_a_scheduler_books_for_their_clinician_and_cancels_from_app_home(
    running: SlackApp, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    grant(slack_parts, "U_FRONT", "scheduler", DR)
    front = Person(running, fake_slack, "U_FRONT")
    assert front.command("/schedule", f"for <@{DR}|drlee> {BOOK}").status_code == 200
    (asked,) = front.replies()
    assert "time zone" in asked.text.lower() or "Pacific" in asked.text, asked.text
    assert "New scheduled session" in front.say("Pacific").text
    saved = front.say("save")
    assert "Saved: session with JD" in saved.text, saved.text

    (session,) = sessions_of(slack_parts, DR)  # the clinician's, not the scheduler's
    assert sessions_of(slack_parts, "U_FRONT") == []
    with slack_parts.store.reading() as s:
        notices = [m.payload for m in outbox_rows.list_outbox(s) if m.kind == "clinician_notice"]
        made = [(r.actor, r.for_clinician) for r in audit.rows(s) if r.action == "session_created"]
    assert notices == [
        "<@U_FRONT> booked a session for you with JD on Wed, Nov 25, 2026, 3:00 PM EST. "
        "It is on your dashboard."
    ]
    assert made == [(f"{TEAM}:U_FRONT", f"{TEAM}:{DR}")]

    # The scheduler's App Home is the clinician's dashboard now; its Cancel works for them.
    front.event({"type": "app_home_opened", "user": "U_FRONT", "tab": "home"})
    home = latest_home(fake_slack, "JD")
    click_on_home(front, home_button(home, "dash:reschedule"))
    (opened,) = fake_slack.wait_calls("views.open", 1)
    assert "Move the session with JD on Wed, Nov 25, 2026, 3:00 PM EST" in str(opened.args)
    shown = submitted(front, opened.args["view"], new_time("2026-11-27", "16:30"))
    assert "Moved the session with JD to Fri, Nov 27, 2026, 4:30 PM EST." in str(shown)
    moved = fake_slack.wait(lambda: [m for m in front.messages() if m.text.startswith("Moved")])
    assert moved[-1].text == "Moved the session with JD to Fri, Nov 27, 2026, 4:30 PM EST."
    (session,) = sessions_of(slack_parts, DR)
    assert session.start_at.isoformat() == "2026-11-27T21:30:00+00:00"
    home = latest_home(fake_slack, "Nov 27")
    click_on_home(front, home_button(home, "dash:cancel"))
    told = fake_slack.wait(lambda: [m for m in front.messages() if m.text.startswith("Cancelled")])
    assert "JD" in told[-1].text
    (after,) = sessions_of(slack_parts, DR)
    assert after.status == "cancelled"


def test_an_unassigned_scheduler_and_a_supervisor_are_refused_in_slack(
    running: SlackApp, fake_slack: FakeSlack, slack_parts: Parts, clinician: Person
) -> None:
    clinician.say(BOOK)
    clinician.say("Pacific")
    assert "Saved" in clinician.say("save").text
    (session,) = sessions_of(slack_parts, DR)
    grant(slack_parts, "U_OTHER", "scheduler", "U_SOMEONE")
    grant(slack_parts, "U_SUPER", "supervisor", DR)

    other = Person(running, fake_slack, "U_OTHER")
    assert other.command("/schedule", f"for <@{DR}> {BOOK}").status_code == 200
    (refused,) = other.replies()
    assert refused.text.startswith(f"You are not assigned to schedule for {DR}")
    # A crafted click on the clinician's session: not theirs, nothing happens to it.
    click_on_home(other, {"action_id": "dash:cancel", "value": session.public_id,
                          "type": "button"})  # fmt: skip

    boss = Person(running, fake_slack, "U_SUPER")
    assert boss.command("/sessions", f"for <@{DR}|drlee>").status_code == 200
    (opened,) = fake_slack.wait_calls("views.open", 1)
    assert "JD" in str(opened.args["view"])  # the clinician's sessions, initials
    for action_id in ("dash:cancel", "dash:remind", "dash:cancel_series"):
        click_on_home(boss, {"action_id": action_id, "value": session.public_id,
                             "type": "button"})  # fmt: skip
        (said,) = boss.replies()
        assert said.text.startswith(f"As {DR}'s supervisor you can see their sessions but not")
    assert boss.command("/schedule", f"for <@{DR}> {BOOK}").status_code == 200
    (said,) = boss.replies()
    assert "supervisor" in said.text and "not change" in said.text

    (still,) = sessions_of(slack_parts, DR)
    assert still.status == "scheduled" and still.reminded_at is None
    found = refusals(slack_parts)
    assert found.count((f"{TEAM}:U_OTHER", f"{TEAM}:{DR}")) == 1
    assert found.count((f"{TEAM}:U_SUPER", f"{TEAM}:{DR}")) == 4


def test_the_installer_of_the_app_is_the_first_admin(parts_any: Parts) -> None:
    store = parts_any.store
    installs = installation_store("111.222", store.engine, parts_any.scheduler)
    for user in ("U_INSTALLER", "U_LATER"):
        installs._save(
            Installation(
                app_id="A1",
                team_id="T_NEW",
                user_id=user,
                bot_token="xoxb-x",
                bot_id="B1",
                bot_user_id="UB1",
            )  # fmt: skip
        )
    with store.reading() as s:
        assert [(h.user, h.role) for h in roles.held(s, "T_NEW")] == [("U_INSTALLER", "admin")]
        (row,) = [r for r in audit.rows(s) if r.action == "role_granted"]
        assert (row.actor, row.fields) == ("system", "admin,grantee_u_installer")
