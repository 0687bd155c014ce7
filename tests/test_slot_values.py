"""Slot values as the tracker keeps them (dialogue/slots.py) and the tracker's own shape
(dialogue/tracker.py): one way in and out, whatever wrote the value."""

from __future__ import annotations

import json
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import Chat, make_settings
from hypothesis import given
from hypothesis import strategies as st

from dialogue.slots import Filled, SlotValueError, decode, encode
from dialogue.tracker import Held, TrackerState
from dialogue.turn_io import Who
from sessionbot.wiring import build
from store import clinician_rows

MONEY = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)


@given(st.dates())
def test_a_date_comes_back_as_the_same_date(day: date) -> None:
    assert decode("date", json.loads(json.dumps(encode(day)))) == day


@given(st.times())
def test_a_clock_time_comes_back_to_the_minute(at: time) -> None:
    assert decode("time", json.loads(json.dumps(encode(at)))) == at.replace(
        second=0, microsecond=0, tzinfo=None
    )


@given(MONEY)
def test_money_comes_back_to_the_cent_with_no_float_on_the_way(amount: Decimal) -> None:
    written = json.loads(json.dumps(encode(amount)))
    assert isinstance(written, str)
    assert decode("amount", written) == amount


@pytest.mark.parametrize(
    ("slot", "raw"),
    [
        ("date", "2026-02-30"),
        ("date", 20261203),
        ("date", ["2026-12-03"]),
        ("time", "25:00"),
        ("time", "9:5"),
        ("time", "noon"),
        ("time", 1530),
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("amount", True),
        ("amount", "12 dollars"),
        ("payment_required", "yes"),
        ("contact_id", "seven"),
        ("participant", {"name": "x"}),
    ],
)
def test_a_value_that_is_not_what_its_slot_holds_is_refused(slot: str, raw: object) -> None:
    with pytest.raises(SlotValueError):
        decode(slot, raw)


def test_a_draft_reads_as_typed_values() -> None:
    filled = Filled.of(
        {"date": "2026-12-03", "time": "15:30", "amount": "95.50", "payment_required": True,
         "contact_id": 7, "participant": "JD", "requested_slot": None}
    )  # fmt: skip
    assert filled.date == date(2026, 12, 3)
    assert filled.time == time(15, 30)
    assert filled.amount == Decimal("95.50")
    assert (filled.payment_required, filled.contact_id, filled.participant) == (True, 7, "JD")
    assert filled.email is None


def test_the_stored_tracker_round_trips_and_an_older_row_still_loads() -> None:
    state = TrackerState(
        sender_id="T1:U1",
        phase="confirm",
        slots={"date": "2026-12-03", "time": "15:30"},
        history=[{"date": "2026-12-02"}],
        misses={"time": 2},
        turn_ids=["t1"],
        last_saved=None,
        held=Held(text="JD tomorrow 3pm", turn_id="t0"),
    )
    stored = json.loads(json.dumps(state.to_json()))
    assert TrackerState.from_json(stored, "T1:U1") == state
    # A row written before misses, history or the held message existed, with a phase
    # from nowhere: it loads as an idle tracker that keeps its slots and turn ids.
    old = TrackerState.from_json(
        {"phase": "asking", "slots": {"participant": "JD"}, "turn_ids": ["t1", 5]}, "T1:U1"
    )
    assert (old.phase, old.slots, old.turn_ids, old.misses, old.held) == (
        "idle", {"participant": "JD"}, ["t1"], {}, None
    )  # fmt: skip
    for turn in range(60):
        old.remember(f"r{turn}")
    assert old.seen("r59") and not old.seen("t1") and len(old.turn_ids) == 50


def test_the_store_refuses_a_tracker_that_is_not_json(chat: Chat) -> None:
    with chat.parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_TEST", "U_X")
        with pytest.raises(TypeError):
            # mypy refuses it too; this is the refusal at run time, of a value typed loosely.
            clinician_rows.save_tracker(s, clinician.id, {"slots": {"amount": Decimal("1.00")}})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("asked", "payload", "refusal"),
    [
        ("date", '/inform{"date": "2026-02-30"}', "couldn't read that date"),
        ("time", '/inform{"time": "25:00"}', "couldn't read that time"),
        ("amount", '/inform{"amount": "NaN"}', "couldn't read that amount"),
        ("amount", '/inform{"amount": "Infinity"}', "couldn't read that amount"),
        ("payment_required", '/inform{"payment_required": "maybe"}', "require payment"),
    ],
)
def test_a_hand_made_button_value_gets_a_refusal_and_loses_nothing(
    tmp_path: Path, sqlite_store, clock, asked: str, payload: str, refusal: str
) -> None:
    """A payload names a slot's value directly (a Slack button, a Rasa `/inform`): one
    that is not what the slot holds is told, and what was given stays."""
    settings = make_settings(tmp_path, STRIPE_API_KEY="sk_test_not_a_real_key")
    chat = Chat(
        build(settings, store=sqlite_store), Who("T_TEST", "U_CLIN1", tz="America/New_York")
    )
    steps = {
        "date": ["schedule"],
        "time": ["schedule", "tomorrow"],
        "payment_required": ["JD tomorrow 3pm no invitation no documents", "same"],
        "amount": ["JD tomorrow 3pm no invitation no documents", "same", "yes"],
    }[asked]
    for text in steps:
        reply = chat.say(text)
    if asked == "amount":
        reply = chat.click(reply, "Follow-up session")
    before = chat.parts.runner.state_of(chat.who)
    assert before is not None and before.requested_slot == asked
    reply = chat.say(payload)
    assert [m.kind for m in reply.messages].count("error") == 1
    assert refusal in reply.text
    after = chat.parts.runner.state_of(chat.who)
    assert after is not None and after.requested_slot == asked
    assert {k: v for k, v in after.slots.items() if k != asked} == {
        k: v for k, v in before.slots.items() if k != asked
    }
    assert after.slots.get(asked) == before.slots.get(asked)
