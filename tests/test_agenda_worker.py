"""The worker's morning agenda and pre-session nudges, sent as Slack DMs (to the local
fake Slack), with frozen time across the spring clock change."""

from __future__ import annotations

from datetime import datetime

import time_machine
from conftest import at, make_session, make_settings
from fake_slack import FakeSlack, slack_env
from outbox_kit import worker

from sessionbot.wiring import Parts, build
from store import clinician_rows, session_rows
from store.db import Store

PRACTICE = """
name = "Example Practice"
[agenda]
nudge_minutes_before = 10
"""


def parts_with(tmp_path, fake: FakeSlack, store: Store, practice: str = PRACTICE) -> Parts:
    path = tmp_path / "practice.toml"
    path.write_text(practice)
    env = slack_env(fake, SESSIONBOT_PRACTICE_FILE=str(path))
    return build(make_settings(tmp_path, **env), store=store)


def dms(fake: FakeSlack) -> list[str]:
    return [c.args["text"] for c in fake.of("chat.postMessage")]


def run_at(parts: Parts, moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        worker(parts).run_once()


def book(parts: Parts, agenda_at: str | None = "07:30") -> None:
    with parts.store.unit() as s:
        me = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1", tz="America/New_York")
        me.agenda_at = agenda_at
        for i, start in enumerate(["2027-03-13 10:00", "2027-03-15 10:00", "2027-03-15 08:00"]):
            make_session(
                s,
                me.id,
                start_at=at(start),
                participant=["Jane Doe", "Sam Roe", "Ann Lee"][i],
                invite_channel="none",
                email=None,
                invite_status="not_sent",
                status="cancelled" if i == 2 else "scheduled",
            )


def test_the_morning_agenda_comes_at_the_chosen_local_time_on_both_sides_of_the_change(
    tmp_path, fake_slack: FakeSlack, store: Store
) -> None:
    parts = parts_with(tmp_path, fake_slack, store)
    book(parts)
    run_at(parts, at("2027-03-13 07:29"))  # Saturday, EST
    assert dms(fake_slack) == []
    run_at(parts, at("2027-03-13 07:31"))
    run_at(parts, at("2027-03-13 08:15"))  # a later pass sends it no second time
    (saturday,) = dms(fake_slack)
    assert saturday == (
        "Your agenda for Saturday, March 13, 2027: 1 session (Eastern)\n"
        "10:00 AM EST (7:00 AM PST theirs) · J.D. · scheduled · no RSVP yet · no payment"
    )
    run_at(parts, at("2027-03-14 07:31"))  # Sunday, the change: no sessions, no DM
    assert len(dms(fake_slack)) == 1
    # Monday, EDT: 7:30 local is 11:30 UTC, an hour earlier in UTC than Saturday's.
    run_at(parts, at("2027-03-15 07:29"))
    assert len(dms(fake_slack)) == 1
    run_at(parts, at("2027-03-15 07:30"))
    monday = dms(fake_slack)[-1]
    assert monday.startswith("Your agenda for Monday, March 15, 2027: 2 sessions (Eastern)\n")
    assert "8:00 AM EDT (5:00 AM PDT theirs) · A.L. · cancelled" in monday
    assert "10:00 AM EDT (7:00 AM PDT theirs) · S.R. · scheduled" in monday
    assert "Jane" not in monday and "Sam" not in monday  # initials only


def test_a_nudge_comes_minutes_before_each_session_with_enter_meeting(
    tmp_path, fake_slack: FakeSlack, store: Store
) -> None:
    parts = parts_with(tmp_path, fake_slack, store)
    book(parts, agenda_at=None)
    run_at(parts, at("2027-03-15 09:49"))
    assert dms(fake_slack) == []
    run_at(parts, at("2027-03-15 09:51"))
    run_at(parts, at("2027-03-15 09:55"))
    (nudge,) = dms(fake_slack)
    (posted,) = fake_slack.of("chat.postMessage")
    with parts.store.unit() as s:
        me = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1")
        (monday,) = [x for x in session_rows.list_sessions(s, me.id) if x.participant == "Sam Roe"]
        enter = f"https://sessions.example.test/enter/{monday.host_token}"
    assert nudge == "In 10 minutes: your session with S.R. at 10:00 AM EDT."
    (button,) = posted.args["blocks"][1]["elements"]  # the fake checked the blocks
    assert (button["text"]["text"], button["url"]) == ("Enter Meeting", enter)
    # The cancelled 8:00 session got none.
    run_at(parts, at("2027-03-15 07:55"))
    assert len(dms(fake_slack)) == 1


def test_without_the_practice_setting_there_are_no_nudges(
    tmp_path, fake_slack: FakeSlack, store: Store
) -> None:
    parts = parts_with(tmp_path, fake_slack, store, practice='name = "Example Practice"\n')
    book(parts, agenda_at=None)
    run_at(parts, at("2027-03-15 09:55"))
    assert dms(fake_slack) == []
