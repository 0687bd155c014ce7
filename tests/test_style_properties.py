"""Properties of the silent paths (hypothesis), over phrases of our own written from issue
18: no refused save ever stores a session, whatever the words around the refusal, on the
embedded runner and in the save action itself (a Rasa classifier may call "don't save" a
save); and no role, short form or dictated punctuation word ever lands in a name."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from pathlib import Path

import time_machine
from conftest import TEST_KEY, Chat, make_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.extraction import ExtractionError, extract, parse_participant
from dialogue.turn_io import ParseData, Who
from sessionbot.wiring import build
from store import clinician_rows, session_rows
from store.db import Store

EASTERN = zoneinfo.ZoneInfo("America/New_York")
NOW = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=EASTERN)

NEGATORS = ["don't", "do not", "dont", "don’t", "never", "please don't", "I don't want to",
            "no need to", "do NOT", "we don't", "pls dont"]  # fmt: skip
VERBS = ["save", "send", "book", "submit", "confirm", "schedule", "finalize"]
OBJECTS = ["", " it", " this", " the session", " that"]
TAILS = ["", " yet", " just yet", " now", ", I'll check first", "!", " please", " for now",
         " until I check with her", "."]  # fmt: skip
LEADS = ["", "no, ", "hmm ", "wait ", "ok but ", "sorry, "]
CASES = [str, str.lower, str.upper, str.capitalize]


def _stored(chat: Chat) -> list:
    with chat.parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, chat.who.team_id, chat.who.user_id)
        return session_rows.list_sessions(s, clinician.id, include_cancelled=True)


@given(
    lead=st.sampled_from(LEADS),
    negator=st.sampled_from(NEGATORS),
    verb=st.sampled_from(VERBS),
    obj=st.sampled_from(OBJECTS),
    tail=st.sampled_from(TAILS),
    case=st.sampled_from(CASES),
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_no_refused_save_ever_stores(tmp_path: Path, lead, negator, verb, obj, tail, case) -> None:
    refusal = case(f"{lead}{negator} {verb}{obj}{tail}")
    store = Store.open(f"sqlite:///{tmp_path / 'refusals.db'}", [TEST_KEY])
    try:
        chat = Chat(
            build(make_settings(tmp_path), store=store), Who("T_P", "U_P", tz="America/New_York")
        )
        with time_machine.travel(NOW, tick=False):
            if not _stored(chat) and chat.parts.runner.state_of(chat.who) is None:
                reply = chat.say("JD tomorrow 3pm by text 617 555 0101, no forms, same zone as me")
                assert reply.phase == "confirm", reply.text
            reply = chat.say(refusal)
            assert _stored(chat) == [], (refusal, reply.text)
            assert "not saved" in reply.text.lower(), (refusal, reply.text)
            # The save action reads the words too: called as a classifier's "save" would.
            state = chat.parts.runner.state_of(chat.who)
            assert state is not None and state.phase == "confirm", (refusal, reply.text)
            latest: ParseData = {
                "text": refusal,
                "intent": {"name": "save", "confidence": 0.9},
                "entities": [],
            }
            events, responses = chat.parts.runner.call_action("action_save_session", state, latest)
            assert _stored(chat) == [], (refusal, responses)
            assert not any(e.get("name") == "saved_session_id" for e in events)
    finally:
        store.dispose()


# Roles, short forms and dictated punctuation: never a word of a name.
NEVER_IN_A_NAME = ["pt", "patient", "client", "appt", "mtg", "tmw", "w/o", "asap", "thx",
                   "pls", "plz", "period", "comma", "new line", "question mark", "full stop",
                   "Patient", "Client", "Appt", "thnx", "ty", "txt", "eml", "mtg."]  # fmt: skip
NAMES = ["Jane Smith", "JD", "Ana Ruiz", "Mr. Ahmed", "Lina", "K.O.", "Sam Lee"]
MARKERS = ["", "with ", "for ", "w/ ", "see ", "book "]
AFTER = ["", " tomorrow 3pm", ", by text", " 2p", " thurs"]
_WORD = re.compile(r"[\w/']+")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


FORBIDDEN = set().union(*(_words(w) for w in NEVER_IN_A_NAME)) - {"line", "mark", "full", "stop"}


@given(
    marker=st.sampled_from(MARKERS),
    before=st.lists(st.sampled_from(NEVER_IN_A_NAME), max_size=2),
    name=st.sampled_from(NAMES),
    after=st.lists(st.sampled_from(NEVER_IN_A_NAME), max_size=2),
    tail=st.sampled_from(AFTER),
    asked=st.sampled_from([None, "participant"]),
)
@settings(max_examples=300, deadline=None)
def test_no_role_short_form_or_dictated_punctuation_lands_in_a_name(
    marker, before, name, after, tail, asked
) -> None:
    text = " ".join([marker + " ".join(before), name, " ".join(after)]).strip() + tail
    found = extract(text, now=NOW, requested_slot=asked)
    if found.participant is not None:
        assert not _words(found.participant) & FORBIDDEN, (text, found.participant)
    try:
        typed = parse_participant(" ".join([*before, name, *after]))
    except ExtractionError:
        return
    assert not _words(typed) & FORBIDDEN, typed
