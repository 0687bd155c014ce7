"""Properties that hold for every input of their kind (hypothesis): any number phonenumbers
formats is read back; a date read from words is never in the past; and in a conversation
with any run of corrections, the session stored is the one on the last summary shown."""

from __future__ import annotations

import datetime
import zoneinfo
from pathlib import Path

import phonenumbers
import pytest
import time_machine
from conftest import TEST_KEY, Chat, make_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.extraction import extract, parse_phone
from dialogue.turn_io import Who
from sessionbot.wiring import build
from store import clinician_rows, session_rows
from store.db import Store

FORMATS = (
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
)
TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
REGIONS = sorted(
    region
    for region in phonenumbers.SUPPORTED_REGIONS
    if any(phonenumbers.example_number_for_type(region, kind) for kind in TYPES)
)
NOW = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))


@given(
    region=st.sampled_from(REGIONS),
    kind=st.sampled_from(TYPES),
    form=st.sampled_from(FORMATS),
    before=st.sampled_from(["", "call ", "her cell is actually ", "by text "]),
    after=st.sampled_from(["", " please", " tomorrow 3pm", ", thanks"]),
)
@settings(max_examples=300, deadline=None)
def test_any_number_phonenumbers_formats_is_read_back(region, kind, form, before, after) -> None:
    number = phonenumbers.example_number_for_type(region, kind)
    if number is None or not phonenumbers.is_valid_number(number):
        return
    written = phonenumbers.format_number(number, form)
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # A national format is read in its own country: the practice's or the participant's.
    assert parse_phone(written, "US", region) == expected
    found = extract(f"{before}{written}{after}", now=NOW, participant_region=region)
    assert found.phone == expected, (written, found)


PHRASES = [
    "today", "tomorrow", "tmrw", "day after tomorrow", "monday", "next tuesday", "this friday",
    "thu", "wednsday", "Dec 3", "the 15th", "the 31st", "the second of January", "feb 29",
    "in 3 days", "in ten days", "two weeks from tomorrow", "a week from monday", "next week",
    "next month", "in 2 months", "12/3", "3 dec", "jan 1", "the first", "tonight",
]  # fmt: skip
ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Tokyo",
         "Pacific/Auckland", "Pacific/Honolulu"]  # fmt: skip


@given(
    phrase=st.sampled_from(PHRASES),
    zone=st.sampled_from(ZONES),
    moment=st.datetimes(datetime.datetime(2024, 1, 1), datetime.datetime(2035, 12, 31)),
    region=st.sampled_from(["US", "GB"]),
)
@settings(max_examples=400, deadline=None)
def test_a_date_read_from_words_is_never_in_the_past(phrase, zone, moment, region) -> None:
    now = moment.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    found = extract(phrase, now=now, default_region=region)
    if found.date is None:  # "feb 29" is refused in no year; "12/3" is read by region
        assert found.problems or phrase in ("feb 29",), (phrase, found)
        return
    assert found.date >= now.date(), (phrase, now, found.date)


CORRECTIONS = [
    "make it 4pm",
    "push it back 30 minutes",
    "an hour earlier",
    "actually friday",
    "not JD, it should be JT",
    "switch to e-mail, jd@example.com",
    "the address should be dana.k@clinic.example",
    "send it by text instead",
    "her cell is actually 212 555 0188",
    "he's in Phoenix",
    "same timezone as mine",
    "no paperwork",
    "include the consent form",
    "blorp",
    "make it 5pm and save",
]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("property")


@given(steps=st.lists(st.sampled_from(CORRECTIONS), min_size=1, max_size=6))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_the_session_stored_is_the_last_summary_shown(store_dir: Path, steps) -> None:
    with time_machine.travel(NOW, tick=False):
        path = store_dir / f"{len(list(store_dir.iterdir()))}"
        path.mkdir()
        store = Store.open(f"sqlite:///{path / 'db.sqlite'}", [TEST_KEY])
        chat = Chat(
            build(make_settings(path), store=store), Who("T_P", "U_P", tz="America/New_York")
        )
        chat.say("JD tomorrow 3pm by text 617 555 0101, intake packet")
        reply = chat.say("Pacific")
        for text in steps:
            reply = chat.say(text)
            if reply.requested_slot == "email":
                reply = chat.say("asked@example.com")
        assert reply.phase == "confirm", (steps, reply.text)
        shown = chat.state().slots["summary_shown"]
        assert isinstance(shown, dict), shown
        chat.say("save")
        with store.unit() as s:
            clinician = clinician_rows.get_clinician(s, "T_P", "U_P")
            (session,) = session_rows.list_sessions(s, clinician.id)
            zone = zoneinfo.ZoneInfo("America/New_York")
            start = session.start_at.astimezone(zone)
            assert start.date().isoformat() == shown["date"]
            assert start.strftime("%H:%M") == shown["time"]
            assert session.participant == shown["participant"]
            assert session.invite_channel == shown["invite_channel"]
            assert session.participant_tz == shown["participant_tz"]
            assert (session.documents or "none") == shown["documents"]
            if shown["invite_channel"] == "sms":
                assert session.phone == shown["phone"]
            else:
                assert session.email == shown["email"]
        store.close() if hasattr(store, "close") else None
