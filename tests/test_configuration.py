"""A configuration mistake is one line that names the setting and what to do, exit code 2,
never a traceback (`--debug` keeps it); `sessionbot check` says what is on, off and wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import PG_URL, TEST_KEY

FAKE_PASSWORD = "not-a-real-password-42"


def sessionbot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONBOT_", "SLACK_"))}
    clean.update({"SESSIONBOT_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "sessionbot.cli", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        input="",
        timeout=120,
    )


def one_line(done: subprocess.CompletedProcess, code: int = 2) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert FAKE_PASSWORD not in line
    return line


MISTAKES = {
    "a URL that is no URL": (
        {"SESSIONBOT_DATABASE_URL": "postgres//nohost", "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY},
        "SESSIONBOT_DATABASE_URL is not a database URL",
    ),
    "a database sessionbot does not run on": (
        {
            "SESSIONBOT_DATABASE_URL": f"mysql://app:{FAKE_PASSWORD}@db.example.test/x",
            "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY,
        },
        "PostgreSQL or SQLite",
    ),
    "a garbled key": ({"SESSIONBOT_ENCRYPTION_KEY": "garbled"}, "SESSIONBOT_ENCRYPTION_KEY"),
    "a practice file that is not there": (
        {"SESSIONBOT_PRACTICE_FILE": "/nonexistent/practice.toml"},
        "SESSIONBOT_PRACTICE_FILE (/nonexistent/practice.toml) does not exist",
    ),
    "a setting that should be a number": (
        {"SESSIONBOT_SLACK_INBOX_LEASE": "thirty"},
        "SESSIONBOT_SLACK_INBOX_LEASE must be a number",
    ),
    "a negative number": (
        {"SESSIONBOT_ACTIONS_MAX_BODY": "-5"},
        "SESSIONBOT_ACTIONS_MAX_BODY must be a number of at least 1024",
    ),
}


CASES = [(mistake, "sessions") for mistake in sorted(MISTAKES)] + [
    (mistake, command)
    for mistake in ("a garbled key", "a setting that should be a number")
    for command in ("worker", "serve", "shell", "actions")
]


@pytest.mark.parametrize("mistake,command", CASES)
def test_a_configuration_mistake_is_one_line_and_exit_2(tmp_path, mistake, command):
    env, said = MISTAKES[mistake]
    line = one_line(sessionbot(tmp_path, command, **env))
    assert line.startswith(f"sessionbot {command}: ")
    assert said in line, line


def test_a_practice_file_that_is_not_toml_names_the_line(tmp_path):
    practice = tmp_path / "practice.toml"
    practice.write_text('name = "Rivera Clinic\n')
    line = one_line(sessionbot(tmp_path, "sessions", SESSIONBOT_PRACTICE_FILE=str(practice)))
    assert "is not valid TOML" in line and "line 1" in line


def test_a_practice_file_with_a_wrong_entry_says_which(tmp_path):
    practice = tmp_path / "practice.toml"
    practice.write_text('name = "Rivera Clinic"\nmax_series = "many"\n')
    line = one_line(sessionbot(tmp_path, "sessions", SESSIONBOT_PRACTICE_FILE=str(practice)))
    assert "SESSIONBOT_PRACTICE_FILE" in line and "many" in line


def test_a_practice_setting_out_of_its_choices_is_said_as_a_sentence(tmp_path):
    practice = tmp_path / "practice.toml"
    practice.write_text('name = "Rivera Clinic"\nsms_consent = "maybe"\n')
    line = one_line(sessionbot(tmp_path, "sessions", SESSIONBOT_PRACTICE_FILE=str(practice)))
    assert line.endswith("""sms_consent must be "ask" or "off", not 'maybe'"""), line
    assert "Error(" not in line  # no exception's repr


def test_a_data_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "a-file").write_text("")
    line = one_line(sessionbot(tmp_path, "sessions", SESSIONBOT_DATA_DIR=str(tmp_path / "a-file")))
    assert "SESSIONBOT_DATA_DIR" in line


def test_debug_shows_the_traceback(tmp_path):
    done = sessionbot(tmp_path, "--debug", "sessions", SESSIONBOT_SLACK_INBOX_LEASE="thirty")
    assert done.returncode != 0 and "Traceback" in done.stderr and "ConfigError" in done.stderr


def test_version(tmp_path):
    done = sessionbot(tmp_path, "--version")
    assert done.returncode == 0 and done.stdout.startswith("sessionbot 0.")


@pytest.fixture
def empty_pg_database():
    if not PG_URL:
        pytest.skip("SESSIONBOT_TEST_DATABASE_URL is not set")
    name = f"sessionbot_unmigrated_{os.getpid()}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_a_database_never_migrated_says_to_run_db_upgrade(tmp_path, empty_pg_database):
    env = {"SESSIONBOT_DATABASE_URL": empty_pg_database, "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY}
    for command in ("sessions", "worker"):
        line = one_line(sessionbot(tmp_path, command, **env))
        assert "run `sessionbot db upgrade`" in line
    checked = sessionbot(tmp_path, "check", **env)
    assert checked.returncode == 2 and "sessionbot db upgrade" in checked.stdout
    upgraded = sessionbot(tmp_path, "db", "upgrade", **env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert sessionbot(tmp_path, "sessions", **env).stdout.strip() == "No upcoming sessions."


def test_postgresql_down_is_one_line(tmp_path):
    down = f"postgresql+psycopg://app:{FAKE_PASSWORD}@127.0.0.1:9/sessionbot"
    env = {"SESSIONBOT_DATABASE_URL": down, "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY}
    line = one_line(sessionbot(tmp_path, "sessions", **env), code=1)
    assert "the database cannot be reached" in line


def test_check_says_what_is_on_and_off_and_is_ready_on_the_embedded_default(tmp_path):
    done = sessionbot(tmp_path, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert "ok" in lines["database"] and "schema up to date" in lines["database"]
    assert "ok" in lines["key"]
    assert "off" in lines["slack"] and "off" in lines["texts"] and "off" in lines["payments"]
    assert done.stdout.strip().endswith("ready")


def test_check_finds_credentials_of_the_wrong_shape_without_calling_anyone(tmp_path):
    done = sessionbot(
        tmp_path,
        "check",
        SESSIONBOT_ENCRYPTION_KEY=TEST_KEY,
        SLACK_BOT_TOKEN="xoxp-a-user-token-not-a-bot-token",
        SLACK_SIGNING_SECRET="0" * 32,
        TWILIO_ACCOUNT_SID="not-a-sid",
        TWILIO_AUTH_TOKEN="0" * 32,
        TWILIO_FROM_NUMBER="+15555550100",
        SESSIONBOT_SMTP_URL="http://mail.example.test",
        STRIPE_API_KEY="pk_test_a_publishable_key",
        SESSIONBOT_PUBLIC_URL="http://sessions.example.test",
    )
    assert done.returncode == 2
    out = done.stdout
    assert "SLACK_BOT_TOKEN is not a bot token" in out
    assert "TWILIO_ACCOUNT_SID" in out and "SESSIONBOT_SMTP_URL" in out
    assert "STRIPE_API_KEY is a secret key" in out and "must be https://" in out
    assert out.strip().endswith("5 problems")
    for secret in ("a-user-token", "pk_test_a_publishable"):
        assert secret not in out


def test_check_with_a_wrong_key_names_the_key(tmp_path):
    first = sessionbot(tmp_path, "shell", SESSIONBOT_ENCRYPTION_KEY=TEST_KEY)
    assert first.returncode == 0, first.stderr
    from cryptography.fernet import Fernet

    other = Fernet.generate_key().decode()
    done = sessionbot(tmp_path, "check", SESSIONBOT_ENCRYPTION_KEY=other)
    assert done.returncode == 2
    assert "SESSIONBOT_ENCRYPTION_KEY cannot read this database" in done.stdout


def test_every_option_of_every_command_says_what_it_does():
    import argparse

    from sessionbot.cli import _parser

    missing = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    walk(subparser, f"{name} {sub}")
            elif action.help is None and not isinstance(action, argparse._HelpAction):
                missing.append(f"{name} {action.option_strings or action.dest}")

    walk(_parser(), "sessionbot")
    assert not missing


def test_output_cut_short_by_its_reader_is_no_traceback(tmp_path):
    from datetime import timedelta

    from conftest import make_session, make_settings

    from sessionbot.commands import DEFAULT_USER, LOCAL_TEAM
    from sessionbot.wiring import build
    from store import clinician_rows

    parts = build(make_settings(tmp_path))
    with parts.store.unit() as s:  # more JSON than a pipe holds (64 KiB)
        me = clinician_rows.get_clinician(s, LOCAL_TEAM, DEFAULT_USER)
        first = datetime.now(UTC) + timedelta(days=1)
        for i in range(150):
            make_session(s, me.id, start_at=first + timedelta(hours=i))
    parts.store.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONBOT_", "SLACK_"))}
    env.update(
        SESSIONBOT_DATA_DIR=str(tmp_path / "data"),
        SESSIONBOT_ENCRYPTION_KEY=TEST_KEY,
        HOME=str(tmp_path),
    )
    sessions = subprocess.Popen(
        [sys.executable, "-m", "sessionbot.cli", "sessions", "--json"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert sessions.stdout is not None and sessions.stderr is not None
    assert sessions.stdout.read(10)
    sessions.stdout.close()  # as `| head -c 10` does
    assert "Traceback" not in sessions.stderr.read().decode()
    sessions.wait(timeout=60)
