"""The audit trail, erasure (`forget`) and retention, on SQLite and PostgreSQL.

A session's whole life through the real conversation, commands and worker gives one row
per step with the right actor; no row holds a name, an e-mail or a phone digit; a row
changed in the database is named by `audit verify`; `forget` leaves nothing of the person
in a dump of the database, read raw and decrypted with the key; retention erases only
what is old enough.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import TEST_KEY, Chat, at, make_session
from fake_stripe import FakeStripe
from outbox_kit import CLINICIAN, run_worker, schedule, wired_parts
from page_support import book, page_parts
from starlette.testclient import TestClient

from dialogue.turn_io import Who
from ground.channel import Channel
from ground.practice import PracticeFileError, parse_practice
from scheduling import booking, commands, editing, erasure, starts
from sessionbot.asgi import create_app
from sessionbot.cli import main
from sessionbot.wiring import Parts
from store import audit, clinician_rows, outbox_rows, session_rows, slack_rows
from store.crypto import keyring
from store.db import Store, encrypted_columns
from store.models import AuditRow, ScheduledSession
from store.rotation import rotate

ME = f"{CLINICIAN.team_id}:{CLINICIAN.user_id}"
NAME, EMAIL, PHONE = "Jane Doe", "jane.doe@example.com", "+16175550142"
NATIONAL = "6175550142"


def _clinician(parts: Parts, s):
    return clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)


def audit_rows(store: Store) -> list[AuditRow]:
    with store.reading() as s:
        return audit.rows(s)


def steps(store: Store, session_id: int | None = None) -> list[tuple[str, str]]:
    return [
        (r.actor, r.action)
        for r in audit_rows(store)
        if session_id is None or r.session_id == session_id
    ]


def assert_no_phi(text: str, *, names=(NAME,), emails=(EMAIL,)) -> None:
    """No name (or part of one), e-mail (or its local part) or phone digits in any format."""
    folded = text.casefold()
    for name in names:
        for word in (w for w in name.casefold().split() if len(w) > 1):
            assert not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", folded), word
    for email in emails:
        assert email.casefold() not in folded and email.split("@")[0].casefold() not in folded
    # The number in any format: +1 617 555 0142, (617) 555-0142, 617.555.0142, 6175550142;
    # runs of digits and separators are read whole (never digits glued across values).
    for run in re.findall(r"\d[\d \t().+-]{5,}\d", text):
        assert NATIONAL not in re.sub(r"\D", "", run), run
    for local in ("555-0142", "555 0142", "555.0142"):
        assert local not in text


@pytest.mark.parametrize(
    "leak", ["to JANE", "doe.", "jane.doe@EXAMPLE.com", "+1 (617) 555-0142", "617.555.0142",
             "tel:6175550142", "555 0142"],
)  # fmt: skip
def test_the_scan_finds_each_way_the_person_may_be_written(leak: str) -> None:
    with pytest.raises(AssertionError):
        assert_no_phi(f"row 12: {leak} at 2026-12-01")
    assert_no_phi("row 12: J.D. at 2026-12-01, seq 6175, hash 55501420aa")


def cli(parts: Parts, tmp_path: Path, monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    url = parts.store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("SESSIONBOT_DATABASE_URL", url)
    monkeypatch.setenv("SESSIONBOT_ENCRYPTION_KEY", TEST_KEY)
    monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("SESSIONBOT_PUBLIC_URL", "https://sessions.example.test")
    monkeypatch.chdir(tmp_path)
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# A session's life ----------------------------------------------------------------------


def test_a_sessions_life_is_audited_step_by_step_with_its_actors_and_no_phi(
    tmp_path, store, fake_twilio, smtp_server
) -> None:
    parts = wired_parts(tmp_path, store, twilio=fake_twilio, smtp=smtp_server)
    booked = schedule(parts, "Jane Doe tomorrow 3pm by text +1 617 555 0142, intake packet")
    assert run_worker(parts).counts["sent"] == 1  # the invitation
    now = datetime.now(UTC)
    with parts.store.unit() as s:
        me = _clinician(parts, s)
        session = session_rows.session_for_clinician(s, me.id, booked.public_id)
        assert session is not None
        form = editing.EditForm(
            start=session.start_at, participant="Jane Q Doe", invite_channel=Channel.EMAIL,
            email="jane.q@example.com", phone=None, participant_tz=session.participant_tz,
            documents=session.documents, service=None, amount=None,
        )  # fmt: skip
        edited = editing.edit(s, me, booked.public_id, form, parts.practice, now)
        assert edited.changed, edited.text
    with parts.store.unit() as s:
        me = _clinician(parts, s)
        check = starts.check_start(
            (now + timedelta(days=3)).date(), 16, 0, "America/New_York", now, parts.practice
        )
        moved = commands.reschedule(s, me, booked.public_id, check, parts.practice, now)
        assert moved.changed, moved.text
    with parts.store.unit() as s:
        reminded = commands.remind_now(
            s, _clinician(parts, s), booked.public_id, parts.practice, now
        )
        assert reminded.changed, reminded.text
    run_worker(parts)
    with parts.store.unit() as s:
        session = session_rows.session_by_public_id(s, booked.public_id, lock=True)
        assert session is not None
        assert booking.record_rsvp(s, session, "yes", now, via="text", practice=parts.practice)
    with parts.store.unit() as s:
        me = _clinician(parts, s)
        assert commands.cancel(s, me, booked.public_id, parts.practice, now).changed
    run_worker(parts)

    life = steps(parts.store, booked.id)
    assert life[:2] == [(ME, "session_created"), ("system", "invitation_sent")]
    assert life[2] == (ME, "session_changed")
    assert life[3] == (ME, "session_rescheduled")
    assert (ME, "remind_now") in life and ("participant", "rsvp") in life
    assert life.index((ME, "remind_now")) < life.index(("system", "reminder_sent"))
    assert life[-2:] == [(ME, "session_cancelled"), ("system", "cancellation_sent")]
    changed = next(r for r in audit_rows(parts.store) if r.action == "session_changed")
    assert changed.fields == "email,invite_channel,participant,phone"
    assert all(r.for_clinician == ME for r in audit_rows(parts.store) if r.session_id)

    with parts.store.reading() as s:
        assert audit.verify(s).intact
    names = (NAME, "Jane Q Doe")
    emails = (EMAIL, "jane.q@example.com")
    for row in audit_rows(parts.store):
        assert_no_phi(repr([getattr(row, c.key) for c in AuditRow.__table__.columns]),
                      names=names, emails=emails)  # fmt: skip


def test_a_rolled_back_change_leaves_no_audit_row(store: Store, parts_any: Parts) -> None:
    with pytest.raises(RuntimeError), parts_any.store.unit() as s:
        audit.record(s, actor=ME, action="session_created", session_id=1)
        raise RuntimeError("the change failed")
    with parts_any.store.unit() as s:
        audit.record(s, actor=ME, action="session_created", session_id=2)
    assert [r.session_id for r in audit_rows(parts_any.store)] == [2]


def test_free_text_and_values_are_refused_at_the_door(parts_any: Parts) -> None:
    with parts_any.store.unit() as s:
        for bad in (
            dict(actor="Jane Doe", action="rsvp"),
            dict(actor=ME, action="called jane.doe@example.com"),
            dict(actor=ME, action="session_changed", fields=["+16175550142"]),
            dict(actor=ME, action="session_changed", for_clinician="Dr Lee"),
        ):
            with pytest.raises(ValueError):
                audit.record(s, **bad)
    assert audit_rows(parts_any.store) == []


# The chain -----------------------------------------------------------------------------


def _three_rows(store: Store) -> None:
    for action in ("session_created", "session_cancelled", "page_opened"):
        with store.unit() as s:
            audit.record(s, actor=ME, action=action, session_id=7)


def test_audit_verify_names_a_row_changed_in_the_database(
    store: Store, parts_any: Parts, tmp_path, monkeypatch, capsys
) -> None:
    _three_rows(store)
    code, out, _ = cli(parts_any, tmp_path, monkeypatch, capsys, "audit", "verify")
    assert (code, out.strip()) == (0, "intact (3 rows)")
    with store.engine.begin() as conn:  # someone rewrites who cancelled
        conn.execute(sa.text("UPDATE audit SET actor = 'T_TEST:U_OTHER' WHERE seq = 2"))
    code, out, err = cli(parts_any, tmp_path, monkeypatch, capsys, "audit", "verify")
    assert code == 1
    assert "audit row 2 was changed after it was written" in err


def test_audit_verify_finds_a_row_removed_from_the_middle_or_the_end(
    store: Store, parts_any: Parts, tmp_path, monkeypatch, capsys
) -> None:
    _three_rows(store)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit WHERE seq = 3"))
    code, _, err = cli(parts_any, tmp_path, monkeypatch, capsys, "audit", "verify")
    assert code == 1 and "audit row 3 is missing" in err
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit WHERE seq = 1"))
    code, _, err = cli(parts_any, tmp_path, monkeypatch, capsys, "audit", "verify")
    assert code == 1 and "audit row 1 is missing" in err


def test_concurrent_writers_keep_one_chain(store: Store) -> None:
    def write(i: int) -> None:
        with store.unit() as s:
            audit.record(s, actor="system", action="page_opened", session_id=i)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, range(60)))
    with store.reading() as s:
        verdict = audit.verify(s)
    assert verdict.intact and verdict.rows == 60


def test_the_audit_command_filters_by_session_user_and_time(
    store: Store, parts_any: Parts, tmp_path, monkeypatch, capsys
) -> None:
    with parts_any.store.unit() as s:
        me = _clinician(parts_any, s)
        mine, _ = make_session(s, me.id, start_at=datetime.now(UTC) + timedelta(days=2))
        audit.session_event(s, mine, "session_created")
        audit.record(s, actor="T_TEST:U_OTHER", action="session_created", session_id=999,
                     for_clinician="T_TEST:U_OTHER")  # fmt: skip
    code, out, _ = cli(
        parts_any, tmp_path, monkeypatch, capsys, "audit", "--session", mine.public_id, "--json"
    )
    (row,) = json.loads(out)
    assert (row["session"], row["actor"], row["action"]) == (mine.public_id, ME, "session_created")
    code, out, _ = cli(parts_any, tmp_path, monkeypatch, capsys, "audit", "--user", "U_OTHER")
    assert "U_OTHER" in out and mine.public_id not in out
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    code, out, _ = cli(parts_any, tmp_path, monkeypatch, capsys, "audit", "--since", later)
    assert out.strip() == "No audit rows."


# Erasure -------------------------------------------------------------------------------


def dump(store: Store) -> str:
    """Every table's every value as stored, and every encrypted value decrypted."""
    out: list[str] = []
    encrypted = {(t.name, c.name) for t, c in encrypted_columns()}
    with store.engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')).mappings():
                for column, value in row.items():
                    out.append(str(value))
                    if (name, column) in encrypted and value:
                        out.append(keyring().decrypt(str(value)))
    return "\n".join(out)


def test_forget_leaves_no_trace_of_the_person_even_decrypted(
    tmp_path, store, fake_twilio, monkeypatch, capsys
) -> None:
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    past = schedule(parts, "Jane Doe tomorrow 3pm by text +1 617 555 0142, intake packet")
    ahead = schedule(parts, "Jane Doe in 5 days at 3pm by text +1 617 555 0142, intake packet")
    other = schedule(parts, "Robin Roe tomorrow 4pm by text +1 617 555 0199, intake packet")
    run_worker(parts)  # the invitations go out
    with parts.store.unit() as s:  # the first is over by now
        row = session_rows.session_by_public_id(s, past.public_id)
        assert row is not None
        row.start_at = datetime.now(UTC) - timedelta(days=2)
        slack_rows.inbox_add(
            s, [("ev1", json.dumps({"text": "move Jane Doe to 4pm"}))], datetime.now(UTC)
        )
    assert NAME in dump(parts.store)

    code, _, err = cli(parts, tmp_path, monkeypatch, capsys, "forget", "--phone", "617-555-0142")
    assert code == 1 and "1 upcoming session(s)" in err and ahead.public_id in err
    assert NAME in dump(parts.store)  # refused: nothing erased

    code, out, _ = cli(
        parts, tmp_path, monkeypatch, capsys, "forget", "--phone", "(617) 555-0142",
        "--cancel-upcoming",
    )  # fmt: skip
    assert code == 0, out
    assert "upcoming sessions cancelled: 1" in out and "Slack inbox bodies deleted: 1" in out
    code, out, _ = cli(parts, tmp_path, monkeypatch, capsys, "forget", "--email", "x@y.test")
    assert code == 1 and "nothing was erased" in out
    code, out, _ = cli(parts, tmp_path, monkeypatch, capsys, "forget", "--phone", PHONE)
    assert code == 0 and "sessions erased once their cancellation has gone: 1" in out
    run_worker(parts)  # the cancellation goes to them, once; then their session is erased
    told = [m for m in fake_twilio.messages if m["To"] == PHONE]
    assert len(told) == 3 and "cancel" in told[-1]["Body"].lower()

    assert_no_phi(dump(parts.store))
    assert "Robin Roe" in dump(parts.store)  # someone else stays
    code, out, _ = cli(parts, tmp_path, monkeypatch, capsys, "sessions", "--all", "--json",
                       "--team", CLINICIAN.team_id, "--user", CLINICIAN.user_id)  # fmt: skip
    records = {r["id"]: r for r in json.loads(out)}
    for gone in (past.public_id, ahead.public_id):
        assert records[gone]["participant"] == "erased"
        assert records[gone]["email"] is None and records[gone]["phone"] is None
    assert records[other.public_id]["participant"] == "Robin Roe"
    assert (ME, "sessions_exported") in steps(parts.store)  # the export is a disclosure
    erased = [r for r in audit_rows(parts.store) if r.action == "contact_erased"]
    assert len(erased) == 2 and {r.actor for r in erased} == {"system"}  # one per forget
    assert ("system", "session_erased") in steps(parts.store, ahead.id)  # after its notice
    with parts.store.reading() as s:
        assert audit.verify(s).intact


def test_a_clinician_whose_draft_named_the_person_is_told_it_was_cleared(
    tmp_path, store, monkeypatch, capsys, clock
) -> None:
    """Erasure deletes a conversation that names the person; its clinician is told why
    (without the name), instead of finding their draft gone without a word."""
    parts = wired_parts(tmp_path, store)
    schedule(parts, "Jane Doe tomorrow 3pm by text +1 617 555 0142, intake packet")
    drafting = Chat(parts, CLINICIAN)
    reply = drafting.say("Jane Doe friday 2pm by text +1 617 555 0142")
    assert reply.phase == "form"
    other = Chat(parts, Who(CLINICIAN.team_id, "U_CLIN2", tz="America/New_York"))
    other.say("Robin Roe friday 2pm")  # names someone else: kept, not told
    code, out, _ = cli(
        parts, tmp_path, monkeypatch, capsys, "forget", "--phone", PHONE, "--cancel-upcoming"
    )
    assert code == 0 and "conversation drafts deleted: 1" in out, out
    with parts.store.reading() as s:
        notices = [
            m for m in outbox_rows.list_outbox(s, statuses=None, limit=100)
            if m.kind == "clinician_notice" and m.payload == erasure.CONVERSATION_CLEARED
        ]  # fmt: skip
        me = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
    assert [m.clinician_id for m in notices] == [me.id]
    assert NAME not in erasure.CONVERSATION_CLEARED
    assert parts.runner.state_of(CLINICIAN) is None  # their next message starts afresh
    assert parts.runner.state_of(other.who) is not None


def test_an_operators_erasure_is_in_each_practices_own_audit_trail(parts_any: Parts) -> None:
    """`forget` run by an operator for every clinician: each practice whose records held
    the person sees the erasure in its workspace's trail (its admins' App Home view);
    a practice that never had them does not."""
    now = datetime.now(UTC)
    with parts_any.store.unit() as s:
        here = _clinician(parts_any, s)
        there = clinician_rows.get_clinician(s, "T_ELSEWHERE", "U_DOC")
        untouched = clinician_rows.get_clinician(s, "T_UNRELATED", "U_DOC")
        make_session(s, here.id, start_at=now - timedelta(days=3))
        make_session(s, there.id, start_at=now - timedelta(days=3))
        make_session(
            s, untouched.id, start_at=now - timedelta(days=3), email="robin@example.org",
            participant="Robin Roe",
        )  # fmt: skip
        found = erasure.find(s, email=EMAIL)
        erasure.forget(s, found, parts_any.practice, now, actor="system")
    with parts_any.store.reading() as s:
        for team, seen in (("T_TEST", 1), ("T_ELSEWHERE", 1), ("T_UNRELATED", 0)):
            erased = [r for r in audit.rows(s, team=team) if r.action == "contact_erased"]
            assert len(erased) == seen, team
            assert all(r.actor == "system" for r in erased)


def test_forget_by_email_within_one_clinician(parts_any: Parts) -> None:
    now = datetime.now(UTC)
    with parts_any.store.unit() as s:
        me = _clinician(parts_any, s)
        other = clinician_rows.get_clinician(s, "T_TEST", "U_OTHER")
        mine, _ = make_session(s, me.id, start_at=now - timedelta(days=3))
        theirs, _ = make_session(s, other.id, start_at=now - timedelta(days=3))
        found = erasure.find(s, email="JANE.DOE@example.com", clinician_id=me.id)
        done = erasure.forget(s, found, parts_any.practice, now, actor=ME)
    assert done.counts["sessions erased"] == 1
    with parts_any.store.reading() as s:
        assert s.get_one(ScheduledSession, mine.id).participant == erasure.ERASED
        assert s.get_one(ScheduledSession, theirs.id).email == EMAIL


# Retention -----------------------------------------------------------------------------


def test_retention_erases_only_what_is_old_enough(
    parts_any: Parts, tmp_path, monkeypatch, capsys
) -> None:
    now = datetime.now(UTC)
    days = parts_any.practice.retention_days
    with parts_any.store.unit() as s:
        me = _clinician(parts_any, s)
        old, _ = make_session(s, me.id, start_at=now - timedelta(days=days + 2))
        recent, _ = make_session(s, me.id, start_at=now - timedelta(days=days - 2))
        slack_rows.inbox_add(s, [("old", "{}")], now - timedelta(days=31))
        slack_rows.inbox_add(s, [("new", "{}")], now - timedelta(days=29))
    code, out, _ = cli(parts_any, tmp_path, monkeypatch, capsys, "retention", "run")
    assert code == 0
    assert "sessions erased: 1" in out and "Slack inbox bodies deleted: 1" in out
    assert NAME not in out and EMAIL not in out
    with parts_any.store.reading() as s:
        assert s.get_one(ScheduledSession, old.id).erased_at is not None
        assert s.get_one(ScheduledSession, old.id).email is None
        kept = s.get_one(ScheduledSession, recent.id)
        assert (kept.participant, kept.email) == (NAME, EMAIL)
        left = s.scalars(sa.select(sa.text("key")).select_from(sa.text("slack_inbox"))).all()
    assert left == ["new"]
    assert steps(parts_any.store)[-1] == ("system", "retention_applied")


def test_the_practice_file_sets_retention(tmp_path) -> None:
    practice = parse_practice({"retention_days": 2190, "inbox_retention_days": 7})
    assert (practice.retention_days, practice.inbox_retention_days) == (2190, 7)
    assert parse_practice({}).retention_days == 365
    with pytest.raises(PracticeFileError):
        parse_practice({"retention_days": 0})


# The participant page and the keys ------------------------------------------------------


def test_the_participant_page_payment_and_enter_meeting_are_audited(tmp_path, store, clock) -> None:
    start = at("2026-11-25 15:00")
    public = "https://sessions.example.test"
    with FakeStripe() as fake:
        parts = page_parts(tmp_path, store, fake, public)
        booked = book(parts, start)
        with TestClient(create_app(parts), base_url=public, follow_redirects=False) as client:
            page = client.get(booked.path).text
            token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
            clock.move_to(start - timedelta(minutes=10))
            client.post(f"{booked.path}/documents", data={"csrf": token, "confirm": "yes"})
            client.post(f"{booked.path}/pay", data={"csrf": token})
            (cs_id,) = fake.sessions
            fake.sessions[cs_id].update(status="complete", payment_status="paid")
            body, headers = fake.signed(
                fake.event("checkout.session.completed", fake.sessions[cs_id])
            )
            client.post("/webhooks/stripe", content=body, headers=headers)
            assert client.get(f"{booked.path}/enter").status_code == 303
            assert client.get(f"/enter/{booked.host_token}").status_code == 303
    got = [(a, b) for a, b in steps(parts.store) if b != "page_opened"]
    assert got == [
        ("T_TEST:U_CLIN1", "session_created"),
        ("participant", "documents_confirmed"),
        ("participant", "payment_received"),
        ("participant", "enter_meeting"),
        ("T_TEST:U_CLIN1", "enter_meeting"),
    ]
    assert ("participant", "page_opened") in steps(parts.store)


def test_a_key_rotation_is_audited(parts_any: Parts) -> None:
    rotate(parts_any.store)
    assert steps(parts_any.store)[-1] == ("system", "keys_rotated")


def test_forget_a_couples_other_participant_erases_only_them(
    tmp_path, store, smtp_server, fake_twilio, monkeypatch, capsys
) -> None:
    """Mark is the second participant of Jane's couples sessions: forgetting his phone
    erases his name and number (after telling him of the cancellation), and leaves Jane's
    sessions, her name and her e-mail as they were."""
    from test_multi import GUEST_PHONE, LEAD_EMAIL, book_couple, couple

    parts = wired_parts(tmp_path, store, smtp=smtp_server, twilio=fake_twilio)
    ahead = book_couple(parts, couple("couple-ahead"))
    past = book_couple(parts, couple("couple-past"))
    with parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, past.public_id)
        assert row is not None
        row.start_at = datetime.now(UTC) - timedelta(days=2)
    run_worker(parts)  # the invitations go out
    assert "Mark Kay" in dump(parts.store)

    code, _, err = cli(parts, tmp_path, monkeypatch, capsys, "forget", "--phone", "617 555 0142")
    assert code == 1 and ahead.public_id in err and past.public_id not in err
    assert "Mark Kay" in dump(parts.store)  # refused: nothing erased

    code, out, _ = cli(
        parts, tmp_path, monkeypatch, capsys, "forget", "--phone", GUEST_PHONE, "--cancel-upcoming"
    )
    assert code == 0, out
    assert "other participants erased: 1" in out
    assert "other participants erased once their cancellation has gone: 1" in out
    run_worker(parts)  # the cancellation goes to both, once; then Mark's details go
    told = [m for m in fake_twilio.messages if m["To"] == GUEST_PHONE]
    assert "cancel" in told[-1]["Body"].lower()
    assert sum("cancel" in m["Body"].lower() for m in told) == 1

    assert_no_phi(dump(parts.store), names=("Mark Kay",), emails=())
    assert "Jane Doe" in dump(parts.store) and LEAD_EMAIL in dump(parts.store)
    code, out, _ = cli(parts, tmp_path, monkeypatch, capsys, "sessions", "--all", "--json",
                       "--team", CLINICIAN.team_id, "--user", CLINICIAN.user_id)  # fmt: skip
    for record in json.loads(out):
        lead, other = record["participants"]
        assert lead["participant"] == "Jane Doe" and lead["email"] == LEAD_EMAIL
        assert other["participant"] == "erased" and other["phone"] is None
        assert record["erased"] is False
    erased = [r for r in audit_rows(parts.store) if r.action == "participant_erased"]
    assert [r.session_id for r in erased] == [ahead.id]  # the one that waited for its notice
    with parts.store.reading() as s:
        assert audit.verify(s).intact
