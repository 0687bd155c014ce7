"""The clinician's week from the command line and the commands module: Schedule Next,
series, overlaps, Remind now and the agenda (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from conftest import TEST_KEY, at, make_session
from sqlalchemy.orm import Session

from actions import edit_form
from ground.practice import Practice
from ground.session import SessionSpec
from scheduling import agendas, clashes, commands, editing, recurrence, series_plans
from sessionbot.cli import LOCAL_TEAM, main
from sessionbot.wiring import Parts
from store import clinician_rows, outbox_rows, session_rows
from store.models import ScheduledSession

EASTERN = "America/New_York"


@pytest.fixture
def cli(parts_any: Parts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sessionbot …` (through `run_cli`) runs on the test's store."""
    url = parts_any.store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("SESSIONBOT_DATABASE_URL", url)
    monkeypatch.setenv("SESSIONBOT_ENCRYPTION_KEY", TEST_KEY)
    monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("SESSIONBOT_PUBLIC_URL", "https://sessions.example.test")
    monkeypatch.chdir(tmp_path)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main([*argv, "--user", "U_CLI"])
    return code, capsys.readouterr().out.strip().splitlines()


def a_session(parts: Parts, **overrides: object) -> str:
    """Jane Doe, by e-mail, paid follow-up with the intake packet, for clinician U_CLI."""
    fields: dict[str, object] = dict(
        draft_id=None,
        start_at=at("2026-12-01 15:00"),
        documents="intake",
        service="followup",
        amount_cents=12000,
        payment_status="pending",
        invite_status="queued",
    )
    fields.update(overrides)
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, LOCAL_TEAM, "U_CLI", tz=EASTERN)
        session, _ = make_session(s, clinician.id, **fields)
        return session.public_id


def stored(s: Session, public_id: str) -> ScheduledSession:
    session = session_rows.session_by_public_id(s, public_id)
    assert session is not None, public_id
    return session


def records(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    assert main(["sessions", "--json", "--all", "--user", "U_CLI"]) == 0
    return json.loads(capsys.readouterr().out)


# Schedule Next ---------------------------------------------------------------------------


def test_next_books_the_same_session_a_week_later_and_prints_its_id(
    cli, parts_any: Parts, capsys, clock
) -> None:
    source = a_session(parts_any)
    code, lines = run_cli(capsys, "next", source)
    assert code == 0
    assert lines[0] == (
        "Booked the session with J.D. on Tue, Dec 8, 2026, 3:00 PM EST "
        "(the same time, 1 week later). The invitation goes out by e-mail."
    )
    new_id = lines[-1]
    old, new = sorted(records(capsys), key=lambda r: r["start"])
    assert new["id"] == new_id != old["id"]
    assert new["start"] == "2026-12-08T20:00:00Z"
    for field in ("participant", "invite_channel", "email", "participant_tz", "documents"):
        assert new[field] == old[field]
    assert (new["service"], new["amount"], new["payment_status"]) == (
        "followup",
        "120.00",
        "pending",
    )
    assert new["enter_meeting_url"] != old["enter_meeting_url"]  # its own links and room
    with parts_any.store.unit() as s:
        made = stored(s, new_id)
        kinds = [m.kind for m in outbox_rows.outbox_for_session(s, made.id)]
    assert kinds == ["invitation", "reminder", "reminder"]  # like any new session


def test_next_keeps_the_wall_time_across_the_clock_change(cli, parts_any: Parts, capsys) -> None:
    with time_machine.travel(at("2027-03-05 09:00"), tick=False):
        source = a_session(parts_any, start_at=at("2027-03-09 10:00"))  # EST
        code, lines = run_cli(capsys, "next", source, "--weeks", "1")
        assert code == 0
        assert "Tue, Mar 16, 2027, 10:00 AM EDT" in lines[0]
        (_, new) = sorted(records(capsys), key=lambda r: r["start"])
    assert new["start"] == "2027-03-16T14:00:00Z"  # 10 AM EDT, not 11


def test_next_on_a_cancelled_session_is_refused_and_books_nothing(
    cli, parts_any: Parts, capsys, clock
) -> None:
    source = a_session(parts_any, status="cancelled")
    code, lines = run_cli(capsys, "next", source, "--weeks", "2")
    assert code == 1
    assert lines == [
        "That session was cancelled, so there is nothing to repeat. "
        "Schedule a new one with /schedule. Nothing was booked."
    ]
    assert len(records(capsys)) == 1


def test_next_says_when_the_new_time_overlaps_and_books_it_anyway(
    cli, parts_any: Parts, capsys, clock
) -> None:
    source = a_session(parts_any)
    a_session(parts_any, participant="Sam Roe", start_at=at("2026-12-08 15:30"))
    code, lines = run_cli(capsys, "next", source)
    assert code == 0
    assert lines[0].endswith("It overlaps your session with S.R. on Tue, Dec 8, 2026, 3:30 PM EST.")
    assert len(records(capsys)) == 3


# Series ------------------------------------------------------------------------------------


def draft_for(clinician_tz: str = EASTERN, channel: str = "email") -> SessionSpec:
    return SessionSpec.for_one(
        draft_id="draft-series-1",
        start=at("2026-12-01 10:00"),
        duration_min=50,
        participant="Jane Doe",
        invite_channel=channel,
        email="jane.doe@example.com" if channel == "email" else None,
        phone=None,
        participant_tz="America/Los_Angeles",
        documents="intake",
        service=None,
        amount=None,
    )


def save_series(parts: Parts, text: str, now: datetime) -> series_plans.SeriesBooked:
    rec = recurrence.parse_recurrence(text, date(2026, 11, 24))
    assert rec is not None
    found = recurrence.expand(rec, date(2026, 12, 1), 10, 0, EASTERN, now, parts.practice)
    assert found.problem is None, found.problem
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, LOCAL_TEAM, "U_CLI", tz=EASTERN)
        return series_plans.book_series(
            s, clinician, draft_for(), list(found.starts), parts.practice, now
        )


def test_a_series_is_saved_in_one_go_sharing_a_series_id(
    cli, parts_any: Parts, capsys, clock
) -> None:
    now = datetime.now(UTC)
    saved = save_series(parts_any, "every Tuesday at 10am for 6 weeks", now)
    assert saved.text.startswith(
        "Saved 6 sessions with J.D., from Tue, Dec 1, 2026, 10:00 AM EST to "
        "Tue, Jan 5, 2027, 10:00 AM EST."
    )
    rows = sorted(records(capsys), key=lambda r: r["start"])
    assert len(rows) == 6 and len({r["series_id"] for r in rows}) == 1 and rows[0]["series_id"]
    assert len({r["participant_url"] for r in rows}) == 6  # each its own links
    with parts_any.store.unit() as s:
        first, last = (stored(s, rows[i]["id"]) for i in (0, -1))
        first_invite = outbox_rows.outbox_for_session(s, first.id)[0]
        last_invite = outbox_rows.outbox_for_session(s, last.id)[0]
    assert first_invite.kind == last_invite.kind == "invitation"
    assert first_invite.due_at == now
    assert last_invite.due_at == at("2026-12-29 10:00")  # a week before its session
    # A second Save of the same draft stores nothing more.
    again = save_series(parts_any, "every Tuesday at 10am for 6 weeks", now)
    assert not again.made and len(records(capsys)) == 6


def test_cancel_series_cancels_this_and_the_following_occurrences(
    cli, parts_any: Parts, capsys, clock
) -> None:
    save_series(parts_any, "weekly for 4 sessions", datetime.now(UTC))
    rows = sorted(records(capsys), key=lambda r: r["start"])
    code, lines = run_cli(capsys, "cancel", rows[1]["id"], "--series")
    assert code == 0
    assert lines == [
        "Cancelled 3 sessions with J.D., from Tue, Dec 8, 2026, 10:00 AM EST to "
        "Tue, Dec 22, 2026, 10:00 AM EST."
    ]
    statuses = [r["status"] for r in sorted(records(capsys), key=lambda r: r["start"])]
    assert statuses == ["scheduled", "cancelled", "cancelled", "cancelled"]
    # One occurrence alone, and moving one, leave the rest as they were.
    code, lines = run_cli(capsys, "cancel", rows[0]["id"])
    assert lines[0].startswith("Cancelled the session with J.D. on Tue, Dec 1, 2026")


def test_moving_one_occurrence_moves_only_it_and_names_an_overlap(
    cli, parts_any: Parts, capsys, clock
) -> None:
    save_series(parts_any, "weekly for 3 sessions", datetime.now(UTC))
    rows = sorted(records(capsys), key=lambda r: r["start"])
    code, lines = run_cli(capsys, "reschedule", rows[1]["id"], "--to", "2026-12-15T10:30")
    assert code == 0
    assert lines == [
        "Note: It overlaps your session with J.D. on Tue, Dec 15, 2026, 10:00 AM EST.",
        "Moved the session with J.D. to Tue, Dec 15, 2026, 10:30 AM EST.",
    ]
    starts = sorted(r["start"] for r in records(capsys))
    assert starts == ["2026-12-01T15:00:00Z", "2026-12-15T15:00:00Z", "2026-12-15T15:30:00Z"]


def test_overlaps_name_the_other_session_by_initials_and_time(parts_any: Parts, clock) -> None:
    a_session(parts_any, participant="Sam Roe", start_at=at("2026-12-01 15:30"))
    a_session(parts_any, participant="Ann Lee", start_at=at("2026-12-01 16:20"))
    with parts_any.store.unit() as s:
        me = clinician_rows.get_clinician(s, LOCAL_TEAM, "U_CLI")
        found = clashes.find_overlaps(
            s, me.id, [at("2026-12-01 15:00"), at("2026-12-01 17:10"), at("2026-12-01 16:00")], 50
        )
    assert set(found) == {0, 2}  # 5:10 PM starts as Ann Lee's session ends
    assert clashes.overlap_text(found[2], EASTERN) == (
        "It overlaps your sessions with S.R. on Tue, Dec 1, 2026, 3:30 PM EST and "
        "A.L. on Tue, Dec 1, 2026, 4:20 PM EST."
    )


# Remind now ----------------------------------------------------------------------------------


def test_remind_now_queues_one_reminder_and_refuses_a_second_within_ten_minutes(
    cli, parts_any: Parts, capsys, clock
) -> None:
    source = a_session(parts_any)
    code, lines = run_cli(capsys, "remind", source)
    assert (code, lines) == (
        0,
        ["A reminder of the session on Tue, Dec 1, 2026, 3:00 PM EST is on its way to J.D. "
         "by e-mail."],
    )  # fmt: skip
    clock.shift(timedelta(minutes=4))
    code, lines = run_cli(capsys, "remind", source)
    assert (code, lines) == (
        1,
        ["A reminder went to J.D. at 10:00 AM EST; I send at most one in 10 minutes. "
         "The next can go at 10:10 AM EST."],
    )  # fmt: skip
    clock.shift(timedelta(minutes=7))
    assert run_cli(capsys, "remind", source)[0] == 0
    with parts_any.store.unit() as s:
        session = stored(s, source)
        asked = [
            m for m in outbox_rows.outbox_for_session(s, session.id) if ":now:" in m.dedupe_key
        ]
    assert [m.channel for m in asked] == ["email", "email"]
    assert records(capsys)[0]["reminded_at"] == "2026-11-24T15:11:00Z"


def test_remind_now_refuses_without_a_channel_or_once_the_session_is_over(
    cli, parts_any: Parts, capsys, clock
) -> None:
    silent = a_session(parts_any, invite_channel="none", email=None)
    code, lines = run_cli(capsys, "remind", silent)
    assert code == 1 and "has no invitation channel" in lines[0]
    over = a_session(parts_any, start_at=at("2026-11-24 08:30"))
    code, lines = run_cli(capsys, "remind", over)
    assert (code, lines) == (1, ["The session with J.D. is over: no reminder was sent."])
    with parts_any.store.unit() as s:
        assert not [m for m in outbox_rows.list_outbox(s) if ":now:" in m.dedupe_key]


# The agenda ---------------------------------------------------------------------------------


def test_agenda_lists_the_day_in_time_order_with_both_zones(
    cli, parts_any: Parts, capsys, clock
) -> None:
    a_session(parts_any, participant="Sam Roe", start_at=at("2026-12-01 15:00"), rsvp="yes")
    a_session(
        parts_any,
        participant="Ann Lee",
        start_at=at("2026-12-01 09:00"),
        participant_tz=EASTERN,
        service=None,
        amount_cents=None,
        payment_status="not_required",
    )
    a_session(parts_any, participant="Bo Ng", start_at=at("2026-12-02 09:00"))
    code, lines = run_cli(capsys, "agenda", "--date", "2026-12-01")
    assert code == 0
    assert lines == [
        "Tuesday, December 1, 2026: 2 sessions (Eastern)",
        "9:00 AM EST · A.L. · scheduled · no RSVP yet · no payment",
        "3:00 PM EST (12:00 PM PST theirs) · S.R. · scheduled · will attend · payment pending",
    ]
    assert run_cli(capsys, "agenda", "--date", "2026-12-03")[1] == [
        "Thursday, December 3, 2026: no sessions."
    ]
    assert run_cli(capsys, "agenda", "--date", "12/03")[0] == 2


def test_agenda_preference_is_stored_and_said(cli, parts_any: Parts, capsys, clock) -> None:
    code, lines = run_cli(capsys, "agenda", "--daily", "7:30am")
    assert code == 0 and lines[0].startswith("I'll send your agenda every morning at 7:30 AM")
    with parts_any.store.unit() as s:
        assert clinician_rows.get_clinician(s, LOCAL_TEAM, "U_CLI").agenda_at == "07:30"
    assert run_cli(capsys, "agenda", "--daily", "off")[1] == [
        "I'll stop sending your morning agenda."
    ]


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("send me my agenda at 7:30", "07:30"),
        ("please send me my morning agenda at 6 pm", "18:00"),
        ("send me my agenda", "07:30"),
        ("stop my agenda", "off"),
        ("agenda for tomorrow with JD", None),
    ],
)
def test_agenda_requests_in_words(text: str, wanted: str | None) -> None:
    assert agendas.agenda_request(text) == wanted


def test_series_longer_than_the_practice_allows_is_refused() -> None:
    rec = recurrence.Recurrence(count=53)
    now = datetime(2026, 11, 24, 15, tzinfo=UTC)
    found = recurrence.expand(rec, date(2026, 12, 1), 10, 0, EASTERN, now, Practice())
    assert found.starts == ()
    assert found.problem == (
        "That would be 53 sessions; a series here has at most 52. "
        "Make it shorter (or book a second series later)."
    )


def edit_raw(**changes: str) -> dict[str, str | None]:
    raw: dict[str, str | None] = {
        "date": "2026-12-01",
        "time": "15:00",
        "participant": "Jane Doe",
        "invite_channel": "email",
        "email": "jane.doe@example.com",
        "phone": None,
        "participant_tz": "America/Los_Angeles",
        "documents": "intake",
        "service": "followup",
        "amount": "120.00",
    }
    return raw | changes


def test_edit_of_a_paid_session_keeps_its_price_and_a_rename_tells_no_one(
    parts_any: Parts, clock
) -> None:
    paid = a_session(parts_any, payment_status="paid")
    now = datetime.now(UTC)
    practice = parts_any.practice
    with parts_any.store.unit() as s:
        me = clinician_rows.get_clinician(s, LOCAL_TEAM, "U_CLI")
        start = stored(s, paid).start_at
        form, problems = edit_form.read_edit(
            edit_raw(amount="95.50"), EASTERN, now, practice, current_start=start
        )
        assert problems == {} and form is not None
        refused = editing.edit(s, me, paid, form, practice, now)
        renamed, _ = edit_form.read_edit(
            edit_raw(participant="Janet Doe"), EASTERN, now, practice, current_start=start
        )
        assert renamed is not None
        done = editing.edit(s, me, paid, renamed, practice, now)
        session = stored(s, paid)
        planned = outbox_rows.outbox_for_session(s, session.id)
    assert refused.text == (
        "The session is already paid, so its service and amount stay as they are. "
        "Nothing was changed."
    )
    assert done.text == "Updated the session with J.D.: the participant's name."
    assert (session.participant, session.sequence, planned) == ("Janet Doe", 0, [])


def test_an_invited_participant_set_to_no_invitation_still_hears_of_a_new_time(
    parts_any: Parts, clock
) -> None:
    now = datetime.now(UTC)
    practice = parts_any.practice
    invited, quiet = a_session(parts_any), a_session(parts_any, participant="Sam Roe")
    with parts_any.store.unit() as s:
        me = clinician_rows.get_clinician(s, LOCAL_TEAM, "U_CLI")
        for public_id in (invited, quiet):
            session = stored(s, public_id)
            outbox_rows.add_outbox(
                s, session_id=session.id, clinician_id=me.id, kind="invitation",
                channel="email", due_at=now, status="sent", dedupe_key=f"{public_id}:inv",
            )  # fmt: skip
        start = stored(s, invited).start_at
        moved, _ = edit_form.read_edit(
            edit_raw(invite_channel="none", time="16:00"), EASTERN, now, practice
        )
        same_time, _ = edit_form.read_edit(
            edit_raw(invite_channel="none", participant="Sam Roe"),
            EASTERN, now, practice, current_start=start,
        )  # fmt: skip
        assert moved is not None and same_time is not None
        told = editing.edit(s, me, invited, moved, practice, now)
        kept = editing.edit(s, me, quiet, same_time, practice, now)
        queued = {
            public_id: [
                (m.kind, m.channel)
                for m in outbox_rows.outbox_for_session(s, stored(s, public_id).id)
                if m.status == "pending"
            ]
            for public_id in (invited, quiet)
        }
        # kept for that one update; the other's address goes with its invitation
        kept_address = stored(s, invited).email
        dropped_address = stored(s, quiet).email
    assert (kept_address, dropped_address) == ("jane.doe@example.com", None)
    assert "invitation e-mail → no invitation" in told.text
    assert told.text.endswith("the new time goes to them there once, then nothing.")
    assert queued[invited] == [("update", "email")]  # no reminders after it
    assert kept.text.endswith(
        "They were invited by e-mail; that invitation stands, with no reminders."
    )
    assert queued[quiet] == []


def test_a_participant_invited_by_email_then_moved_to_text_hears_the_new_time_both_ways(
    parts_any: Parts, clock
) -> None:
    now = datetime.now(UTC)
    practice = parts_any.practice
    public_id = a_session(parts_any)
    with parts_any.store.unit() as s:
        me = clinician_rows.get_clinician(s, LOCAL_TEAM, "U_CLI")
        session = stored(s, public_id)
        outbox_rows.add_outbox(
            s, session_id=session.id, clinician_id=me.id, kind="invitation",
            channel="email", due_at=now, status="sent", dedupe_key=f"{public_id}:inv",
        )  # fmt: skip
        form, problems = edit_form.read_edit(
            edit_raw(invite_channel="sms", phone="+1 617 555 0101", time="16:00"),
            EASTERN, now, practice,
        )  # fmt: skip
        assert form is not None, problems
        done = editing.edit(s, me, public_id, form, practice, now)
        session = stored(s, public_id)
        queued = {
            (m.kind, m.channel) for m in outbox_rows.outbox_for_session(s, session.id)
            if m.status == "pending"
        }  # fmt: skip
    assert done.text.endswith(
        "The participant will get the invitation. They were invited by e-mail before, "
        "so the new time goes there once too."
    )
    assert {("invitation", "sms"), ("update", "email"), ("reminder", "sms")} == queued


def test_edit_checks_amounts_by_the_conversations_rules(parts_any: Parts, clock) -> None:
    now = datetime.now(UTC)
    _, problems = edit_form.read_edit(edit_raw(amount="5000"), EASTERN, now, parts_any.practice)
    assert problems == {"amount": "$5,000.00 is more than this practice's maximum of $2,000.00."}
    _, problems = edit_form.read_edit(
        edit_raw(invite_channel="sms", phone="12", participant="J"),
        EASTERN,
        now,
        parts_any.practice,
    )
    assert set(problems) == {"phone", "participant"}


def test_series_preview_lists_the_dates_and_flags_an_overlap(parts_any: Parts, clock) -> None:
    a_session(parts_any, participant="Sam Roe", start_at=at("2026-12-15 10:30"))
    wanted = recurrence.parse_recurrence("every Tuesday for 4 weeks", date(2026, 11, 24))
    assert wanted is not None
    with parts_any.store.unit() as s:
        me = clinician_rows.get_clinician(s, LOCAL_TEAM, "U_CLI")
        shown = series_plans.series_preview(
            s, me, wanted, date(2026, 12, 1), 10, 0, 50, parts_any.practice, datetime.now(UTC)
        )
    assert shown.problem is None and len(shown.starts) == 4
    assert shown.lines == [
        "4 sessions, every Tuesday:",
        "• Tue, Dec 1, 2026, 10:00 AM EST",
        "• Tue, Dec 8, 2026, 10:00 AM EST",
        "• Tue, Dec 15, 2026, 10:00 AM EST",
        "• Tue, Dec 22, 2026, 10:00 AM EST",
        "⚠ Tue, Dec 15, 2026, 10:00 AM EST: It overlaps your session with S.R. on "
        "Tue, Dec 15, 2026, 10:30 AM EST.",
    ]


def test_a_reminder_asked_for_during_the_session_is_still_sent(parts_any: Parts, clock) -> None:
    from integrations.providers import senders
    from sessionbot.outbox.worker import Worker

    started = a_session(parts_any, start_at=at("2026-11-24 09:45"))  # 15 minutes in
    with parts_any.store.unit() as s:
        me = clinician_rows.get_clinician(s, LOCAL_TEAM, "U_CLI")
        done = commands.remind_now(s, me, started, parts_any.practice, datetime.now(UTC))
    assert done.changed
    outgoing = senders(parts_any.settings, parts_any.store)
    Worker(parts_any.store, parts_any.practice, parts_any.settings, outgoing).run_once()
    with parts_any.store.unit() as s:
        session = stored(s, started)
        (asked,) = [
            m for m in outbox_rows.outbox_for_session(s, session.id) if ":now:" in m.dedupe_key
        ]
    assert asked.status == "local" and "Reminder: video session" in (asked.payload or "")


def test_the_agenda_of_the_day_the_clocks_skip_runs_midnight_to_midnight(
    cli, parts_any: Parts, capsys, clock
) -> None:
    a_session(parts_any, participant="Ann Lee", start_at=at("2027-03-14 00:30"))  # EST
    a_session(parts_any, participant="Bo Ng", start_at=at("2027-03-14 23:30"))  # EDT
    a_session(parts_any, participant="Cy Oh", start_at=at("2027-03-15 00:15"))
    code, lines = run_cli(capsys, "agenda", "--date", "2027-03-14")
    assert code == 0
    assert [line.split(" · ")[:2] for line in lines[1:]] == [
        ["12:30 AM EST (Sat 9:30 PM PST theirs)", "A.L."],  # their evening before
        ["11:30 PM EDT (8:30 PM PDT theirs)", "B.N."],
    ]
