"""Whole conversations as a clinician has them, on the embedded runner."""

from __future__ import annotations

import json

from conftest import Chat

from store import repos


def saved_sessions(chat: Chat) -> list:
    with chat.parts.store.unit() as s:
        clinician = repos.get_clinician(s, chat.who.team_id, chat.who.user_id)
        return repos.list_sessions(s, clinician.id, include_cancelled=True)


def test_one_shot_message_asks_only_for_what_is_missing(chat_any: Chat, clock) -> None:
    reply = chat_any.say("JD tomorrow 3pm by text +1 617 555 0101, intake packet")
    assert reply.requested_slot == "participant_tz"
    assert "time zone" in reply.text
    reply = chat_any.say("Pacific")
    assert reply.phase == "confirm"
    assert "12:00 PM PST for JD" in reply.text
    reply = chat_any.say("save")
    assert reply.saved_session_id
    (session,) = saved_sessions(chat_any)
    assert session.phone == "+16175550101"
    assert session.participant_tz == "America/Los_Angeles"
    assert session.start_at.isoformat() == "2026-11-25T20:00:00+00:00"
    assert json.dumps(reply.messages[-1].custom).count("/enter/") == 1
