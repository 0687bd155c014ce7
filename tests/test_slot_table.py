"""The slot table (actions/slot_table/, issue 19): a slot declared whole in one module.

Its first new slot is the session's length ("for 90 minutes"), which before it was
answered "I didn't understand “90 minutes”"; the participant's language moved into it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from conftest import Chat
from outbox_kit import CLINICIAN, session, wired_parts

from actions import slot_table
from actions.drafts import DRAFT_SLOTS, SUMMARY_SLOTS
from actions.extraction import extract
from dialogue.domain import load_domain
from ground.session import SessionSpec
from scheduling.service import Actor
from store.db import Store

NOW = datetime(2026, 11, 24, 10, tzinfo=ZoneInfo("America/New_York"))


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("tomorrow 3pm with JD for 90 minutes", 90),
        ("a 50-minute session friday 2pm", 50),
        ("for an hour and a half", 90),
        ("for one and a half hours", 90),
        ("make it 45 minutes long", 45),
        ("make it an hour", 60),
        ("a two-hour session", 120),
        ("for 1.5 hours", 90),
        ("half an hour session with Jo", 30),
        ("for half an hour", 30),
        ("length: 60", 60),
        ("3pm for 90 mins", 90),
        ("$120 for 50 minutes", 50),
        ("JD tomorrow 3-4:30pm", 90),  # a range: its start, and its length
        ("JD tomorrow from 3 to 4pm", 60),
        ("JD tomorrow 10pm-1am", 180),
    ],
)
def test_a_length_is_read_in_the_words_clinicians_use(text: str, minutes: int) -> None:
    read = extract(text, now=NOW)
    assert read.slots()["length"] == minutes
    assert read.unread == (), read.unread


@pytest.mark.parametrize(
    ("text", "not_length"),
    [
        ("in 90 minutes", "time"),  # a start ninety minutes from now
        ("make it 30 minutes later", None),  # a shift of the start
        ("every monday for 6 weeks", None),  # a series
        ("$120", "amount"),
    ],
)
def test_a_start_a_shift_or_a_series_is_not_a_length(text: str, not_length: str | None) -> None:
    found = extract(text, now=NOW).slots()
    assert "length" not in found
    if not_length:
        assert not_length in found


def test_a_length_said_beside_a_range_wins_and_the_range_gives_the_start() -> None:
    read = extract("JD 3pm-4pm for 50 minutes", now=NOW)
    assert (read.time, read.slots()["length"]) == (time(15), 50)
    assert read.notes == ("I took 3:00 PM, the start of 3:00 PM–4:00 PM, for the length you said.",)


def test_every_table_slot_is_in_the_domain_the_summary_and_the_draft() -> None:
    """Declared in one module, the slot reaches every place that lists slots."""
    domain_slots = load_domain()["slots"]
    assert {"language", "length"} <= set(slot_table.NAMES)
    for name in slot_table.NAMES:
        assert name in domain_slots, name
        assert name in SUMMARY_SLOTS and name in DRAFT_SLOTS, name


def test_a_length_is_said_back_shown_and_saved(tmp_path, store: Store, clock) -> None:
    parts = wired_parts(tmp_path, store)
    chat = Chat(parts, CLINICIAN)
    reply = chat.say("JD tomorrow 3pm for 90 minutes, no invitation, Eastern, no documents")
    said = "\n".join(text for _, text in chat.transcript)
    assert "The session will last 90 minutes (1 h 30)." in said
    assert reply.phase == "confirm", reply.text
    assert "3:00 PM EST (your time), 90 min" in reply.text

    # Changed at the summary: said back, the When line marked.
    again = chat.say("make it an hour")
    assert "The session will last 60 minutes." in again.text
    when_line = next(line for line in again.text.splitlines() if "• When:" in line)
    assert when_line.endswith("60 min  ✎ _changed_"), when_line

    saved = chat.say("save")
    assert saved.saved_session_id
    booked = session(parts, saved.saved_session_id)
    assert booked.duration_min == 60

    # Schedule Next books the same length a week later.
    nxt = parts.scheduler.schedule_next(
        Actor(CLINICIAN.team_id, CLINICIAN.user_id), saved.saved_session_id, 1, draft_id="nx"
    )
    assert nxt is not None and nxt.new_id is not None
    assert session(parts, nxt.new_id).duration_min == 60


def test_an_unsaid_length_is_the_practices_and_a_wrong_one_is_refused_in_words(
    tmp_path, store: Store, clock
) -> None:
    parts = wired_parts(tmp_path, store)
    chat = Chat(parts, CLINICIAN)
    reply = chat.say("JD tomorrow 3pm for 500 minutes")
    said = "\n".join(text for _, text in chat.transcript)
    assert "A session can last 10 minutes to 4 hours, not 500 minutes" in said
    assert reply.requested_slot == "invite_channel"  # the next question is asked all the same
    reply = chat.say("no invitation, Eastern, no documents")
    assert reply.phase == "confirm", reply.text
    minutes = parts.practice.session_minutes
    assert f"(your time), {minutes} min" in reply.text
    saved = chat.say("save")
    assert saved.saved_session_id
    assert session(parts, saved.saved_session_id).duration_min == minutes


def test_start_over_forgets_the_length(tmp_path, store: Store, clock) -> None:
    parts = wired_parts(tmp_path, store)
    chat = Chat(parts, CLINICIAN)
    chat.say("JD tomorrow 3pm for 90 minutes")
    assert chat.state().slots.get("length") == 90
    chat.say("start over")
    assert chat.state().slots.get("length") is None


def test_schedule_next_keeps_the_participants_language(tmp_path, store: Store, clock) -> None:
    """Found while moving the language into the table: Schedule Next of a session in
    Spanish booked the next one in the practice's language."""
    parts = wired_parts(tmp_path, store)
    chat = Chat(parts, CLINICIAN)
    reply = chat.say("Ana Ruiz tomorrow 3pm, no invitation, Eastern, no documents, en español")
    assert reply.phase == "confirm", reply.text
    saved = chat.say("save")
    assert saved.saved_session_id and session(parts, saved.saved_session_id).language == "es"
    nxt = parts.scheduler.schedule_next(
        Actor(CLINICIAN.team_id, CLINICIAN.user_id), saved.saved_session_id, 1, draft_id="nx"
    )
    assert nxt is not None and nxt.new_id is not None
    assert session(parts, nxt.new_id).language == "es"


def test_the_table_applies_each_slot_to_the_session() -> None:
    """A table slot changes the SessionSpec Save books, and only when it is held."""
    spec = SessionSpec.for_one("d1", NOW, 50, "JD", "none", None, None, "America/New_York")
    held = slot_table.applied(spec, {"length": 75, "language": "es"})
    assert held.duration_min == 75 and held.lead.language == "es"
    assert slot_table.applied(spec, {"length": None}) == spec
    assert dataclasses.replace(held, duration_min=50, participants=spec.participants) == spec
