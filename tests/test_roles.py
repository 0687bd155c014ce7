"""Roles in a practice (issue 20), on SQLite and PostgreSQL: a scheduler books, moves and
cancels for the clinician assigned, in the shell and on the command line; the session is
the clinician's (their dashboard, their DM saying who booked what); an unassigned
scheduler and a supervisor are refused in words, and each refusal is audited; a
supervisor reads the sessions as initials, no contact details; the audit rows carry the
staff member and the clinician acted for, and no name, e-mail or phone.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from conftest import TEST_KEY
from test_action_server import call, full_draft
from test_audit import assert_no_phi

from dialogue.runner import _run
from sessionbot.cli import REFUSED, main
from store import audit, clinician_rows, outbox_rows, session_rows
from store.db import Store
from store.models import AuditRow

TEAM = "T_LOCAL"
DR, SCHED, OTHER, SUPER = "U_DRLEE", "U_FRONT", "U_OTHER", "U_SUPER"
NAME, EMAIL = "Jane Doe", "jane.doe@example.com"
BOOK = f"{NAME} tomorrow 3pm {EMAIL} Pacific, intake packet\nsave\n"


class Cli:
    def __init__(self, store: Store, tmp_path: Path, monkeypatch, capsys) -> None:
        url = store.engine.url.render_as_string(hide_password=False)
        monkeypatch.setenv("SESSIONBOT_DATABASE_URL", url)
        monkeypatch.setenv("SESSIONBOT_ENCRYPTION_KEY", TEST_KEY)
        monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(tmp_path / "cli"))
        monkeypatch.setenv("SESSIONBOT_PUBLIC_URL", "https://sessions.example.test")
        monkeypatch.delenv("STRIPE_API_KEY", raising=False)
        monkeypatch.chdir(tmp_path)
        self.store, self.capsys = store, capsys

    def __call__(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        old = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            code = main(list(args))
        finally:
            sys.stdin = old
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def sessions(self, *who: str) -> list[dict]:
        code, out, err = self("sessions", "--json", *who)
        assert code == 0, err
        return list(json.loads(out))

    def notices(self) -> list[str]:
        with self.store.reading() as s:
            return [
                m.payload or ""
                for m in outbox_rows.list_outbox(s, limit=1000)
                if m.kind == "clinician_notice"
            ]

    def audit(self) -> list[AuditRow]:
        with self.store.reading() as s:
            return audit.rows(s)


@pytest.fixture
def cli(store: Store, tmp_path: Path, monkeypatch, capsys, clock) -> Cli:
    run = Cli(store, tmp_path, monkeypatch, capsys)
    code, out, err = run("roles", "grant", "--team", TEAM, "--user", SCHED, "--role",
                         "scheduler", "--clinician", DR)  # fmt: skip
    assert code == 0 and f"{SCHED} is now scheduler for {DR}" in out, err
    code, out, err = run("roles", "grant", "--team", TEAM, "--user", SUPER, "--role",
                         "supervisor", "--clinician", DR)  # fmt: skip
    assert code == 0, err
    return run


def test_a_scheduler_books_moves_and_cancels_for_their_clinician(cli: Cli) -> None:
    code, out, err = cli("shell", "--user", SCHED, "--as", DR, stdin=BOOK)
    assert code == 0, err
    assert f"for clinician {DR}, as {SCHED}" in out
    assert "Saved: session with Jane Doe" in out, out

    # The session is the clinician's: on their dashboard, none on the scheduler's.
    (mine,) = cli.sessions("--user", DR)
    assert mine["start"] == "2026-11-25T23:00:00Z"  # 3pm Pacific
    assert cli.sessions("--user", SCHED) == []
    assert [s["id"] for s in cli.sessions("--user", SCHED, "--as", DR)] == [mine["id"]]
    # ...and the clinician was told who booked what, with the participant's initials only.
    (notice,) = cli.notices()
    assert f"<@{SCHED}> booked a session for you with J.D." in notice
    assert_no_phi(notice, names=(NAME,), emails=(EMAIL,))

    code, out, err = cli("reschedule", mine["id"], "--to", "2026-11-27T16:00", "--user", SCHED,
                         "--as", DR)  # fmt: skip
    assert code == 0 and "Moved the session with J.D." in out, (out, err)
    code, out, err = cli("cancel", mine["id"], "--user", SCHED, "--as", DR)
    assert code == 0 and "Cancelled" in out, (out, err)
    (after,) = cli.sessions("--user", DR, "--all")
    assert after["status"] == "cancelled"

    rows = [r for r in cli.audit() if r.session_id is not None]
    staff = [(r.actor, r.action, r.for_clinician) for r in rows if r.actor.startswith(TEAM)]
    for action in ("session_created", "session_rescheduled", "session_cancelled"):
        assert (f"{TEAM}:{SCHED}", action, f"{TEAM}:{DR}") in staff, staff
    assert not [a for a in staff if a[0] == f"{TEAM}:{DR}"]  # the clinician did none of it
    dump = "\n".join(f"{r.actor} {r.action} {r.for_clinician} {r.fields}" for r in cli.audit())
    assert_no_phi(dump, names=(NAME,), emails=(EMAIL,))


def test_an_unassigned_scheduler_and_a_supervisor_are_refused_and_audited(cli: Cli) -> None:
    code, out, err = cli("shell", "--user", DR, stdin=BOOK)
    assert code == 0 and "Saved" in out, err
    (session,) = cli.sessions("--user", DR)
    cli("roles", "grant", "--team", TEAM, "--user", OTHER, "--role", "scheduler",
        "--clinician", "U_SOMEONE_ELSE")  # fmt: skip

    code, out, err = cli("cancel", session["id"], "--user", OTHER, "--as", DR)
    assert code == REFUSED
    assert f"You are not assigned to schedule for {DR}, so nothing was changed." in err
    code, out, err = cli("shell", "--user", OTHER, "--as", DR, stdin=BOOK)
    assert code == REFUSED and "not assigned" in err and "Saved" not in out
    code, out, err = cli("sessions", "--json", "--user", OTHER, "--as", DR)
    assert code == REFUSED and out == ""
    for change in (
        ("cancel", session["id"]),
        ("reschedule", session["id"], "--to", "2026-11-27T16:00"),
        ("remind", session["id"]),
    ):
        code, out, err = cli(*change, "--user", SUPER, "--as", DR)
        assert code == REFUSED, change
        assert "supervisor you can see their sessions but not change them" in err
    code, out, err = cli("shell", "--user", SUPER, "--as", DR, stdin=BOOK)
    assert code == REFUSED

    (still,) = cli.sessions("--user", DR)
    assert still["status"] == "scheduled" and still["start"] == session["start"]
    refused = [(r.actor, r.for_clinician) for r in cli.audit() if r.action == "refused"]
    assert refused.count((f"{TEAM}:{OTHER}", f"{TEAM}:{DR}")) == 3
    assert refused.count((f"{TEAM}:{SUPER}", f"{TEAM}:{DR}")) == 4


def test_a_supervisor_reads_initials_and_no_contact_details(cli: Cli) -> None:
    cli("shell", "--user", DR, stdin=BOOK)
    (full,) = cli.sessions("--user", DR)
    assert full["participant"] == NAME and full["email"] == EMAIL
    (seen,) = cli.sessions("--user", SUPER, "--as", DR)
    assert seen["id"] == full["id"] and seen["start"] == full["start"]
    assert seen["participant"] == "J.D."
    assert seen["email"] is None and seen["phone"] is None
    assert seen["enter_meeting_url"] is None and seen["participant_url"] is None
    assert_no_phi(json.dumps(seen), names=(NAME,), emails=(EMAIL,))
    # Nothing of the redaction reached the database: the clinician still sees it all.
    (again,) = cli.sessions("--user", DR)
    assert again["participant"] == NAME and again["email"] == EMAIL
    exported = [r for r in cli.audit() if r.action == "sessions_exported"]
    assert (exported[-1].actor, exported[-1].for_clinician) == (f"{TEAM}:{DR}", f"{TEAM}:{DR}")
    assert (f"{TEAM}:{SUPER}", f"{TEAM}:{DR}") in [(r.actor, r.for_clinician) for r in exported]


def test_roles_are_granted_listed_and_revoked_with_audit_rows(cli: Cli) -> None:
    code, out, _ = cli("roles", "list", "--json")
    assert code == 0
    assert {"team": TEAM, "user": SCHED, "role": "scheduler", "clinician": DR} in json.loads(out)
    code, out, _ = cli("roles", "grant", "--team", TEAM, "--user", SCHED, "--role",
                       "scheduler", "--clinician", DR)  # fmt: skip
    assert code == 0 and "already had that role" in out
    code, out, err = cli("roles", "grant", "--team", TEAM, "--user", SCHED, "--role", "scheduler")
    assert code == 2 and "give --clinician" in err
    code, out, _ = cli("roles", "revoke", "--team", TEAM, "--user", SCHED, "--role", "scheduler")
    assert code == 0 and "no longer scheduler" in out
    code, _, err = cli("shell", "--user", SCHED, "--as", DR, stdin=BOOK)
    assert code == REFUSED and "not assigned" in err
    actions = [(r.action, r.for_clinician, r.fields) for r in cli.audit()
               if r.action.startswith("role_")]  # fmt: skip
    assert ("role_granted", f"{TEAM}:{DR}", "grantee_u_front,scheduler") in actions
    assert ("role_revoked", f"{TEAM}:{DR}", "grantee_u_front,scheduler") in actions


def test_the_first_shell_user_of_the_embedded_default_is_its_admin(
    tmp_path: Path,
    monkeypatch,
    capsys,
    clock,
) -> None:
    monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SESSIONBOT_PUBLIC_URL", "https://sessions.example.test")
    for name in ("SESSIONBOT_ENCRYPTION_KEY", "SESSIONBOT_DATABASE_URL", "STRIPE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    assert run("shell", "--user", "U_OWNER")[0] == 0
    assert run("shell", "--user", DR, stdin=BOOK)[0] == 0  # the second is a clinician only
    code, out, _ = run("roles", "list", "--json")
    assert json.loads(out) == [
        {"team": TEAM, "user": "U_OWNER", "role": "admin", "clinician": None}
    ]
    # An admin acts for any clinician of the practice.
    code, out, err = run("sessions", "--json", "--user", "U_OWNER", "--as", DR)
    assert code == 0, err
    (seen,) = json.loads(out)
    assert seen["participant"] == NAME
    code, out, err = run("sessions", "--json", "--user", DR, "--as", "U_OWNER")
    assert code == REFUSED and "not assigned" in err


def test_the_actions_check_the_role_of_a_staff_sender(parts_any) -> None:
    """A Rasa tracker (the action server's or the embedded runner's) whose sender is a
    staff member for a clinician, "T:STAFF>CLINICIAN", saves for the clinician only when
    the role allows it; otherwise nothing is saved for anyone."""
    parts = parts_any
    assert parts.scheduler.grant_role("T_A", "U_FRONT", "scheduler", ["U_DR"])
    assert parts.scheduler.grant_role("T_A", "U_SUPER", "supervisor", ["U_DR"])

    def save(sender: str, draft: str) -> str:
        result = _run(parts.runner.executor.run(call("action_save_session", full_draft(
            sender, draft, "Robin Smith"))))  # fmt: skip
        return str(result.responses[0]["text"])

    assert save("T_A:U_FRONT>U_DR", "d-1").startswith("Saved: session with Robin Smith")
    assert save("T_A:U_OTHER>U_DR", "d-2").startswith("You are not assigned to schedule for U_DR")
    assert "supervisor you can see their sessions but not change" in save("T_A:U_SUPER>U_DR", "d-3")
    with parts.store.reading() as s:
        owners = [
            (r.actor, r.for_clinician) for r in audit.rows(s) if r.action == "session_created"
        ]
        for user in ("U_OTHER", "U_SUPER", "U_FRONT"):
            mine = clinician_rows.find_clinician(s, "T_A", user)
            assert mine is None or not session_rows.list_sessions(s, mine.id, after=None)
        refused = [(r.actor, r.for_clinician) for r in audit.rows(s) if r.action == "refused"]
    assert owners == [("T_A:U_FRONT", "T_A:U_DR")]
    assert refused == [("T_A:U_OTHER", "T_A:U_DR"), ("T_A:U_SUPER", "T_A:U_DR")]


def test_a_scheduler_cancelling_in_the_conversation_is_audited_as_the_scheduler(
    parts_any,
) -> None:
    """ "Cancel it" in a staff member's conversation for a clinician asks about the
    clinician's session, then cancels it through the scheduling service: the audit names
    the scheduler, acting for the clinician (not the clinician themself)."""
    parts = parts_any
    assert parts.scheduler.grant_role("T_A", "U_FRONT", "scheduler", ["U_DR"])
    sender = "T_A:U_FRONT>U_DR"
    saved = _run(parts.runner.executor.run(call("action_save_session", full_draft(
        sender, "d-1", "Robin Smith"))))  # fmt: skip
    public_id = saved.responses[0]["custom"]["session_id"]

    def click(**entities: object) -> str:
        tracker = {
            "sender_id": sender,
            "slots": {},
            "latest_message": {
                "intent": {"name": "cancel_session"},
                "entities": [{"entity": k, "value": v} for k, v in entities.items()],
            },
        }
        result = _run(parts.runner.executor.run(call("action_cancel_session", tracker)))
        return str(result.responses[0]["text"])

    assert click(session_ref=public_id).startswith("Cancel the session with R.S. on ")
    assert click(session_ref=public_id, confirm=True).startswith("Cancelled")
    assert click(session_ref=public_id) == "That session is already cancelled."
    with parts.store.reading() as s:
        cancels = [
            (r.actor, r.for_clinician) for r in audit.rows(s) if r.action == "session_cancelled"
        ]
    assert cancels == [("T_A:U_FRONT", "T_A:U_DR")]
