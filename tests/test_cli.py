"""The command line as a new user meets it: a scripted shell, the dashboard, nlu."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEST_KEY

from sessionbot import cli

SCRIPT = "JD tomorrow 3pm by text +1 617 555 0101, intake packet\nPacific\nsave\n"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(data))
    monkeypatch.setenv("SESSIONBOT_PUBLIC_URL", "https://sessions.example.test")
    monkeypatch.delenv("SESSIONBOT_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("SESSIONBOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return data


def run_cli(args: list[str], capsys, stdin: str = "") -> str:
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        assert cli.main(args) == 0
    finally:
        sys.stdin = old
    return capsys.readouterr().out


def test_scripted_shell_stores_a_session_the_dashboard_shows(env: Path, capsys, clock) -> None:
    transcript = run_cli(["shell"], capsys, SCRIPT)
    assert "you> Pacific" in transcript
    assert "Saved: session with JD" in transcript

    (session,) = json.loads(run_cli(["sessions", "--json"], capsys))
    assert session["start"] == "2026-11-25T20:00:00Z"
    assert session["phone"] == "+16175550101"
    assert session["participant_tz"] == "America/Los_Angeles"
    assert session["invite_channel"] == "sms"
    assert session["amount"] is None
    token = session["enter_meeting_url"].removeprefix("https://sessions.example.test/enter/")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)  # 192 random bits
    assert session["participant_url"].startswith("https://sessions.example.test/j/")
    assert "JD" in run_cli(["sessions"], capsys)


def test_the_sqlite_file_holds_no_participant_data_in_clear(env: Path, capsys, clock) -> None:
    run_cli(["shell"], capsys, "Jane Doe tomorrow 3pm jane.doe@example.com Pacific, intake\nsave\n")
    (session,) = json.loads(run_cli(["sessions", "--json"], capsys))
    assert session["email"] == "jane.doe@example.com"
    raw = b"".join(p.read_bytes() for p in env.glob("sessionbot.db*"))
    for secret in (b"jane.doe@example.com", b"Jane Doe", b"jane.doe"):
        assert secret not in raw
    key_file = env / "encryption.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(env / "sessionbot.db") as db:
        (stored,) = db.execute("select participant from scheduled_sessions").fetchone()
    assert stored.startswith("gAAAA")  # Fernet ciphertext


def test_a_restarted_shell_goes_on_where_it_stopped(env: Path, capsys, clock) -> None:
    run_cli(["shell"], capsys, "JD tomorrow 3pm\n")
    transcript = run_cli(["shell"], capsys, "no invitation\n")
    assert "middle of scheduling" in transcript
    assert "time zone" in transcript.split("you> no invitation")[1]


def test_nlu_prints_one_json_object_a_line(env: Path, capsys) -> None:
    out = run_cli(
        [
            "nlu",
            "--now",
            "2026-11-24T10:00",
            "--tz",
            "America/New_York",
            "JD tomorrow 3pm by text +1 617 555 0101",
            "make it 4pm instead",
        ],
        capsys,
    )
    first, second = (json.loads(line) for line in out.splitlines())
    assert first == {
        "text": "JD tomorrow 3pm by text +1 617 555 0101",
        "date": "2026-11-25",
        "time": "15:00",
        "phone": "+16175550101",
        "invite_channel": "sms",
        "participant": "JD",
    }
    assert second == {"text": "make it 4pm instead", "time": "16:00"}


def test_nlu_reads_standard_input(env: Path, capsys) -> None:
    out = run_cli(["nlu", "--now", "2026-11-24T10:00"], capsys, "$120\nLondon time\n")
    assert [json.loads(x) for x in out.splitlines()] == [
        {"text": "$120", "amount": "120.00"},
        {"text": "London time", "participant_tz": "Europe/London"},
    ]


def test_nlu_shows_shifts_close_calls_notes_and_what_it_did_not_understand(
    env: Path, capsys
) -> None:
    texts = "push it back 30 minutes\nnext thursday 4:30pm central blorp\nshe's in Springfield\n"
    out = run_cli(["nlu", "--now", "2026-11-24T10:00", "--tz", "America/New_York"], capsys, texts)
    shift, thursday, springfield = (json.loads(x) for x in out.splitlines())
    assert shift == {"text": "push it back 30 minutes", "shift": {"minutes": 30, "days": 0}}
    assert thursday["date"] == "2026-11-26" and thursday["time"] == "17:30"
    assert thursday["choices"] == {"date": [["Thursday, December 3", "2026-12-03"]]}
    assert "4:30 PM Central is 5:30 PM your time." in thursday["notes"]
    assert thursday["unread"] == ["blorp"]
    assert springfield["problems"] == {"participant_tz": "Which Springfield do you mean?"}
    assert len(springfield["choices"]["participant_tz"]) >= 2


def test_the_installed_command_runs_a_piped_conversation(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONBOT_", "STRIPE_"))}
    env.update(SESSIONBOT_DATA_DIR=str(tmp_path / "d"), SESSIONBOT_ENCRYPTION_KEY=TEST_KEY)
    done = subprocess.run(
        [sys.executable, "-m", "sessionbot.cli", "shell"],
        input="AB tomorrow 3pm no invitation no documents\nsame\nsave\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Saved: session with AB" in done.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "sessionbot.cli", "sessions", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert json.loads(listed.stdout)[0]["invite_channel"] == "none"
