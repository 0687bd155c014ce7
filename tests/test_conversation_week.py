"""The clinician's week in whole conversations: series, "same time next week", overlaps
flagged at the summary, and the morning agenda asked for in words (frozen time: Tuesday
2026-11-24 10:00 Eastern)."""

from __future__ import annotations

from conftest import Chat, at, make_session

from store import clinician_rows, session_rows


def saved_sessions(chat: Chat) -> list:
    with chat.parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, chat.who.team_id, chat.who.user_id)
        return session_rows.list_sessions(s, clinician.id, include_cancelled=True)


def errors(reply) -> list[str]:
    return [m.text for m in reply.messages if m.kind == "error"]


def test_a_series_is_listed_at_the_summary_and_saved_as_one_series(chat_any: Chat, clock) -> None:
    reply = chat_any.say("JD every Tuesday at 10am for 6 weeks, no invitation, no documents")
    assert "Repeating every Tuesday, 6 sessions" in reply.text
    assert saved_sessions(chat_any) == []
    reply = chat_any.say("same")
    assert reply.phase == "confirm"
    assert "6 sessions, every Tuesday" in reply.text
    for day in ("Tue, Dec 1, 2026, 10:00 AM EST", "Tue, Dec 8, 2026", "Tue, Dec 15, 2026"):
        assert day in reply.text
    assert "3 more, the last on Tue, Jan 5, 2027, 10:00 AM EST" in reply.text
    reply = chat_any.say("save")
    assert "Saved 6 sessions with JD" in reply.text
    sessions = saved_sessions(chat_any)
    assert len(sessions) == 6
    assert len({x.series_id for x in sessions}) == 1 and sessions[0].series_id
    assert [x.start_at for x in sessions] == [
        at(f"{day} 10:00")
        for day in (
            "2026-12-01", "2026-12-08", "2026-12-15", "2026-12-22", "2026-12-29", "2027-01-05"
        )
    ]  # fmt: skip
    assert "already saved" in chat_any.say("save").text
    assert len(saved_sessions(chat_any)) == 6
    reply = chat_any.say("same time next week")  # goes on from the series' last session
    assert "Tue, Jan 12, 2027, 10:00 AM EST" in reply.text and "overlaps" not in reply.text
    assert len(saved_sessions(chat_any)) == 7


def test_a_series_given_step_by_step_and_then_just_once(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation, no documents")
    reply = chat.say("same")
    assert reply.phase == "confirm" and "Repeats" not in reply.text
    reply = chat.say("every other Thursday until March 1")
    assert "every other Thursday" in reply.text
    assert "7 sessions, every other Thursday" in reply.text
    assert "the last on Thu, Feb 18, 2027, 3:00 PM EST" in reply.text
    reply = chat.say("just once")
    assert "Just once" in reply.text and "Repeats" not in reply.text
    chat.say("save")
    (session,) = saved_sessions(chat)
    assert session.series_id is None
    assert session.start_at == at("2026-11-26 15:00")


def test_a_series_too_long_is_refused_whole_and_nothing_is_stored(chat_any: Chat, clock) -> None:
    chat_any.say("JD tomorrow 3pm no invitation, no documents")
    chat_any.say("same")
    reply = chat_any.say("weekly for 80 sessions")
    assert "⚠ Repeats: That would be 80 sessions" in reply.text and "at most 52" in reply.text
    reply = chat_any.say("save")
    assert errors(reply) and "Nothing was saved" in reply.text and "at most 52" in reply.text
    assert saved_sessions(chat_any) == []
    assert reply.phase == "confirm"  # nothing lost: shorten it, or book it once
    chat_any.say("for 4 sessions weekly")
    reply = chat_any.say("save")
    assert "Saved 4 sessions" in reply.text
    assert len(saved_sessions(chat_any)) == 4


def test_a_series_with_a_date_the_clocks_skip_is_refused(chat: Chat, clock) -> None:
    # 2:30 AM on Sunday, March 14, 2027 does not exist in New York (clocks go to 3 AM).
    chat.say("JD every Sunday at 2:30am until March 20, no invitation, no documents")
    reply = chat.say("same")
    assert "can't be booked" in reply.text and "Mar 14, 2027" in reply.text
    reply = chat.say("save")
    assert errors(reply) and "Nothing was saved" in reply.text
    assert saved_sessions(chat) == []


def test_same_time_next_week_after_a_save_books_the_next_one(chat_any: Chat, clock) -> None:
    chat_any.say("JD tomorrow 3pm no invitation, no documents")
    chat_any.say("same")
    first = chat_any.say("save").saved_session_id
    reply = chat_any.say("same time next week")
    assert "Wed, Dec 2, 2026, 3:00 PM EST" in reply.text and "1 week later" in reply.text
    assert reply.saved_session_id and reply.saved_session_id != first
    reply = chat_any.say("same time in two weeks")
    assert "Wed, Dec 16, 2026, 3:00 PM EST" in reply.text  # two weeks after the one just booked
    starts = [x.start_at for x in saved_sessions(chat_any)]
    assert starts == [at("2026-11-25 15:00"), at("2026-12-02 15:00"), at("2026-12-16 15:00")]
    assert first == saved_sessions(chat_any)[0].public_id


def test_same_time_next_week_with_nothing_saved_or_a_draft_open(chat: Chat, clock) -> None:
    reply = chat.say("same time next week")
    assert "no session just saved" in reply.text
    chat.say("JD tomorrow 3pm")
    reply = chat.say("same time next week")
    assert "finish this session first" in reply.text
    assert reply.requested_slot == "invite_channel"  # the draft goes on
    assert saved_sessions(chat) == []


def test_an_overlap_is_flagged_at_the_summary_and_may_still_be_saved(chat_any: Chat, clock) -> None:
    with chat_any.parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, chat_any.who.team_id, chat_any.who.user_id)
        make_session(s, clinician.id, start_at=at("2026-11-25 14:30"), participant="Ann Lee")
    chat_any.say("JD tomorrow 3pm no invitation, no documents")
    reply = chat_any.say("same")
    assert "overlaps your session with A.L." in reply.text
    assert "2:30 PM EST" in reply.text and "You can still save" in reply.text
    chat_any.say("save")
    assert len(saved_sessions(chat_any)) == 2


def test_the_morning_agenda_asked_for_and_stopped_in_words(chat_any: Chat, clock) -> None:
    reply = chat_any.say("send me my agenda at 7:30")
    assert "every morning at 7:30 AM" in reply.text
    with chat_any.parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, chat_any.who.team_id, chat_any.who.user_id)
        assert clinician.agenda_at == "07:30"
    reply = chat_any.say("stop my agenda")
    assert "stop sending" in reply.text
    with chat_any.parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, chat_any.who.team_id, chat_any.who.user_id)
        assert clinician.agenda_at is None
    assert saved_sessions(chat_any) == []


def test_a_series_no_clinician_could_say_is_not_kept(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation, no documents")
    chat.say("same")
    # A forged button payload with a zero interval, and "every 0 weeks" typed: no series,
    # a clear answer, and the draft as it was.
    reply = chat.say('/inform{"series":{"interval":0,"count":3}}')
    assert "Repeats" not in reply.text
    assert chat.state().slots.get("series") is None
    reply = chat.say("every 0 weeks for 6 weeks")
    assert "Repeats" not in reply.text
    reply = chat.say("save")
    (session,) = saved_sessions(chat)
    assert session.series_id is None and session.start_at == at("2026-11-25 15:00")


def test_a_series_without_a_length_is_asked_and_another_day_keeps_the_length(
    chat: Chat, clock
) -> None:
    chat.say("JD tomorrow 3pm no invitation, no documents")
    chat.say("same")
    reply = chat.say("every Monday")
    assert "How long should the series run?" in reply.text
    reply = chat.say("save")
    assert errors(reply) and "Nothing was saved" in reply.text
    assert saved_sessions(chat) == []
    chat.say("every Thursday for 3 weeks")
    reply = chat.say("every Monday")  # another day: the 3 sessions stay
    assert "3 sessions, every Monday" in reply.text
    chat.say("save")
    starts = [x.start_at for x in saved_sessions(chat)]
    assert starts == [at("2026-11-30 15:00"), at("2026-12-07 15:00"), at("2026-12-14 15:00")]


def test_a_date_on_another_day_than_the_series_is_said_and_moved(chat: Chat, clock) -> None:
    reply = chat.say("JD tomorrow 3pm every Thursday for 2 weeks, no invitation, no documents")
    assert "starts Thursday, November 26, not Wednesday" in reply.text
    reply = chat.say("same")
    assert "When: Thu, Nov 26, 2026, 3:00 PM EST" in reply.text
    chat.say("no repeat")
    chat.say("save")
    (session,) = saved_sessions(chat)
    assert session.start_at == at("2026-11-26 15:00") and session.series_id is None
