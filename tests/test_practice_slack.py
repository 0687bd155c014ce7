"""The practice's admin in Slack (issue 20), over signed requests on SQLite and
PostgreSQL: App Home shows an admin the Roles and Audit trail buttons (and no one else);
the Roles modal grants and revokes as `sessionbot roles` does; the Audit trail modal lists
the practice's rows (ids and field names, no participant data; another practice's rows
never); every submission's ack answers without reading the store; a non-admin's crafted
click or submission is refused in words and audited."""

from __future__ import annotations

import json
from datetime import timedelta

from conftest import at, make_session
from fake_slack import FakeSlack, Person, SlackApp
from test_slack_home import add_sessions, click_on_home, home_button, sessions_of
from test_slack_week import latest_home

from sessionbot.wiring import Parts
from store import audit, clinician_rows, roles

TEAM, DR, ADMIN, FRONT = "T1", "U_CLIN1", "U_ADMIN", "U_FRONT"
BOOK = "Jane Roe tomorrow 3pm by text +1 617 555 0101, intake packet"


def held(parts: Parts) -> list[tuple[str, str, str | None]]:
    with parts.store.reading() as s:
        return [(h.user, h.role, h.clinician) for h in roles.held(s, TEAM)]


def actions_of(parts: Parts, action: str) -> list[tuple[str, str | None]]:
    with parts.store.reading() as s:
        return [(r.actor, r.for_clinician) for r in audit.rows(s) if r.action == action]


def open_modal(person: Person, fake: FakeSlack, action_id: str) -> dict:
    """Open App Home, click one of the practice's buttons; the modal Slack was asked to open."""
    before = len(fake.of("views.open"))
    person.event({"type": "app_home_opened", "user": person.user, "tab": "home"})
    home = latest_home(fake, "Your practice")
    click_on_home(person, home_button(home, action_id))
    (opened,) = fake.wait_calls("views.open", before + 1)[before:]
    return {**opened.args["view"], "id": "V_MODAL"}


def grant_values(user: str | None, role: str | None, clinicians: list[str]) -> dict:
    values: dict = {"clinicians": {"users": {"selected_users": clinicians}}}
    if user:
        values["grantee"] = {"user": {"selected_user": user}}
    if role:
        values["role"] = {"role": {"selected_option": {"value": role}}}
    return values


def updates(fake: FakeSlack, containing: str) -> list[dict]:
    found = fake.wait(
        lambda: [c for c in fake.of("views.update") if containing in json.dumps(c.args["view"])]
    )
    return [c.args for c in found]


def test_an_admin_grants_and_revokes_a_role_from_app_home(
    running: SlackApp, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    assert slack_parts.scheduler.grant_role(TEAM, ADMIN, "admin", [])
    admin = Person(running, fake_slack, ADMIN)
    view = open_modal(admin, fake_slack, "adm:roles")
    assert f"<@{ADMIN}> is an admin" in json.dumps(view)

    # A scheduler needs clinicians: said on the field, nothing granted, nothing read.
    answer = admin.submit(view, grant_values(FRONT, "scheduler", []))
    assert answer.json() == {
        "response_action": "errors",
        "errors": {"clinicians": "Choose the clinicians this scheduler works for."},
    }
    assert held(slack_parts) == [(ADMIN, "admin", None)]

    answer = admin.submit(view, grant_values(FRONT, "scheduler", [DR]))
    assert answer.json()["response_action"] == "update"
    assert "Granting" in json.dumps(answer.json()["view"])
    (shown,) = updates(fake_slack, "Granted")
    assert shown["view_id"] == "V_MODAL"
    assert f"<@{FRONT}> is a scheduler for <@{DR}>" in json.dumps(shown["view"])
    assert (FRONT, "scheduler", DR) in held(slack_parts)
    assert actions_of(slack_parts, "role_granted")[-1] == (f"{TEAM}:{ADMIN}", f"{TEAM}:{DR}")
    told = fake_slack.wait(lambda: [m for m in admin.messages() if "Granted" in m.text])
    assert told[-1].text == f"Granted: {FRONT} is now scheduler for {DR}"

    # The scheduler now sees the clinician's sessions.
    front = Person(running, fake_slack, FRONT)
    assert front.command("/sessions", f"for <@{DR}|drlee>").status_code == 200
    fake_slack.wait(lambda: [c for c in fake_slack.of("views.open") if "Sessions" in str(c.args)])

    # Revoke, clicked inside the Roles modal.
    admin.interact(
        {
            "type": "block_actions",
            "container": {"type": "view", "view_id": "V_MODAL"},
            "view": {**view, "type": "modal"},
            "actions": [
                {
                    "action_id": "adm:revoke",
                    "value": f"scheduler|{FRONT}|{DR}",
                    "type": "button",
                    "action_ts": "9.1",
                }  # fmt: skip
            ],
        }
    )
    (shown,) = updates(fake_slack, "Revoked")
    assert f"<@{FRONT}> is a scheduler" not in json.dumps(shown["view"])
    assert held(slack_parts) == [(ADMIN, "admin", None)]
    assert actions_of(slack_parts, "role_revoked") == [(f"{TEAM}:{ADMIN}", f"{TEAM}:{DR}")]


def test_the_last_admin_cannot_revoke_themself(
    running: SlackApp, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    assert slack_parts.scheduler.grant_role(TEAM, ADMIN, "admin", [])
    admin = Person(running, fake_slack, ADMIN)
    view = open_modal(admin, fake_slack, "adm:roles")
    admin.interact(
        {
            "type": "block_actions",
            "view": {**view, "type": "modal"},
            "actions": [
                {
                    "action_id": "adm:revoke",
                    "value": f"admin|{ADMIN}|",
                    "type": "button",
                    "action_ts": "9.2",
                }
            ],  # fmt: skip
        }
    )
    (said,) = admin.replies()
    assert said.text.startswith(f"{ADMIN} is the practice's only admin")
    assert held(slack_parts) == [(ADMIN, "admin", None)]


def test_only_an_admin_sees_the_practice_and_a_crafted_click_is_refused(
    running: SlackApp, fake_slack: FakeSlack, slack_parts: Parts, clinician: Person
) -> None:
    assert slack_parts.scheduler.grant_role(TEAM, ADMIN, "admin", [])
    clinician.event({"type": "app_home_opened", "user": DR, "tab": "home"})
    home = latest_home(fake_slack, "Add to your calendar")
    assert "Your practice" not in json.dumps(home)

    click_on_home(clinician, {"action_id": "adm:roles", "value": "roles", "type": "button"})
    (said,) = clinician.replies()
    assert said.text == "Only an admin of the practice can see its roles and its audit trail."
    click_on_home(clinician, {"action_id": "adm:audit", "value": "audit", "type": "button"})
    clinician.replies()
    assert fake_slack.of("views.open") == []

    # A forged Grant form: the ack answers (it reads nothing), the service refuses.
    form = {"type": "modal", "callback_id": "adm_grant", "title": {"type": "plain_text",
            "text": "Roles"}, "blocks": [], "id": "V_FORGED"}  # fmt: skip
    answer = clinician.submit(form, grant_values(DR, "admin", []))
    assert answer.json()["response_action"] == "update"
    (shown,) = updates(fake_slack, "Only an admin")
    assert shown["view_id"] == "V_FORGED"
    assert held(slack_parts) == [(ADMIN, "admin", None)]
    assert actions_of(slack_parts, "refused") == [(f"{TEAM}:{DR}", None)] * 3


def test_an_admin_reads_the_practice_audit_trail_without_participant_data(
    running: SlackApp, fake_slack: FakeSlack, slack_parts: Parts, clinician: Person
) -> None:
    clinician.say(BOOK)
    clinician.say("Pacific")
    assert "Saved" in clinician.say("save").text
    (session,) = sessions_of(slack_parts, DR)
    assert slack_parts.scheduler.grant_role(TEAM, ADMIN, "admin", [])
    # Another practice's change: never in this practice's trail.
    assert slack_parts.scheduler.grant_role("T2", "U_ELSEWHERE", "admin", [])

    admin = Person(running, fake_slack, ADMIN)
    view = open_modal(admin, fake_slack, "adm:audit")
    text = json.dumps(view)
    assert "*session created*" in text and f"<@{DR}>" in text
    assert f"`{session.public_id[:8]}`" in text
    assert "U_ELSEWHERE" not in text and "T2:" not in text
    for secret in ("Jane", "Roe", "617", "555", "0101"):
        assert secret not in text, secret

    # A session id that is not one: said on the field.
    answer = admin.submit(view, {"session": {"id": {"value": "not an id"}}})
    assert answer.json()["response_action"] == "errors"
    assert "32 letters" in answer.json()["errors"]["session"]

    # Filtered to the session: its rows only, newest first.
    answer = admin.submit(view, {"session": {"id": {"value": session.public_id}}})
    assert "Reading" in json.dumps(answer.json()["view"])
    (shown,) = updates(fake_slack, "newest first")
    lines = [
        line
        for b in shown["view"]["blocks"]
        if b["type"] == "section"
        for line in b["text"]["text"].split("\n")
    ]
    assert lines and all(session.public_id[:8] in line for line in lines)
    assert "role granted" not in json.dumps(shown["view"])

    # Each read is itself on the record, by the admin (of a session: for its clinician).
    assert actions_of(slack_parts, "audit_read") == [
        (f"{TEAM}:{ADMIN}", None),
        (f"{TEAM}:{ADMIN}", f"{TEAM}:{DR}"),
    ]
    with slack_parts.store.reading() as s:
        assert audit.verify(s).intact


def test_a_full_app_home_of_an_admin_stays_within_slacks_100_blocks(
    running: SlackApp, fake_slack: FakeSlack, slack_parts: Parts, clinician: Person
) -> None:
    """A page of 20 sessions, ten refunds that failed and the admin's section: the view
    Slack would refuse (over 100 blocks) is never sent; the refunds give way."""
    add_sessions(slack_parts, DR, 25)
    with slack_parts.store.unit() as s:
        owner = clinician_rows.get_clinician(s, TEAM, DR)
        for i in range(10):
            make_session(
                s, owner.id, draft_id=f"refund-{i}", status="cancelled",
                cancelled_at=at("2026-11-23 09:00"), refund_state="failed",
                start_at=at("2026-11-20 09:00") + timedelta(hours=i),
            )  # fmt: skip
    assert slack_parts.scheduler.grant_role(TEAM, DR, "admin", [])
    clinician.event({"type": "app_home_opened", "user": DR, "tab": "home"})
    home = latest_home(fake_slack, "Your practice")
    assert len(home["blocks"]) <= 100
    text = json.dumps(home)
    assert "Page 1 of 2" in text and "Add to your calendar" in text
    assert "Retry refund" in text  # failed refunds still shown, as many as fit
    assert not fake_slack.problems
