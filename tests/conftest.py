"""Shared fixtures: settings, a fresh store per test (SQLite always, PostgreSQL when
SESSIONBOT_TEST_DATABASE_URL is set), the assembled parts, frozen time and a chat helper.

Fixtures of one area (fake Slack, Twilio, SMTP servers; the run-wide log scan) live in
their own modules under tests/ and reach every test as plugins (`pytest_plugins`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from dialogue.tracker import TrackerState
from dialogue.turn_io import Reply, Who
from ground.settings import Settings
from sessionbot.wiring import Parts, build
from store import session_rows
from store.db import Store
from store.models import ScheduledSession

# Fixtures of one area live in their own modules, handed to every test as plugins.
pytest_plugins = ["log_scan", "fake_slack", "fake_twilio", "smtp_server"]

TEST_KEY = Fernet.generate_key().decode()  # made per run; never a real key
PG_URL = os.environ.get("SESSIONBOT_TEST_DATABASE_URL")
EASTERN = ZoneInfo("America/New_York")


def make_settings(tmp_path: Path, **env: str) -> Settings:
    base = {
        "SESSIONBOT_DATA_DIR": str(tmp_path / "data"),
        "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY,
        "SESSIONBOT_PUBLIC_URL": "https://sessions.example.test",
        "HOME": str(tmp_path),
    }
    base.update(env)
    return Settings.from_env(base)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def _admin(sql: str) -> None:
    assert PG_URL, "only reached with SESSIONBOT_TEST_DATABASE_URL set"
    admin = sa.create_engine(sa.make_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(sql)
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url(worker_id: str) -> Iterator[str]:
    """A database of this test process's own, made fresh, migrated once, dropped after."""
    if not PG_URL:
        pytest.skip("SESSIONBOT_TEST_DATABASE_URL is not set")
    name = f"sessionbot_test_{worker_id}_{os.getpid()}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    Store.open(url, [TEST_KEY], upgrade=True).dispose()
    yield url
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate(store: Store) -> None:
    with store.engine.begin() as conn:
        names = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
        conn.exec_driver_sql(
            "TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The store on each backend: SQLite always, PostgreSQL where configured."""
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'store.db'}", [TEST_KEY])
    else:
        s = Store.open(request.getfixturevalue("pg_url"), [TEST_KEY], upgrade=False)
        _truncate(s)
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'store.db'}", [TEST_KEY])
    yield s
    s.dispose()


@pytest.fixture
def parts(settings: Settings, sqlite_store: Store) -> Parts:
    return build(settings, store=sqlite_store)


@pytest.fixture
def parts_any(settings: Settings, store: Store) -> Parts:
    """The assembled app on each backend."""
    return build(settings, store=store)


def make_session(
    s: Session, clinician_id: int, **overrides: object
) -> tuple[ScheduledSession, str]:
    """Store a session directly (no conversation): an e-mail invitation for Jane Doe on
    Tue Dec 1, 3 PM Eastern unless overridden. Returns (session, participant token)."""
    fields: dict[str, object] = dict(
        clinician_id=clinician_id,
        start_at=datetime(2026, 12, 1, 15, 0, tzinfo=EASTERN),
        duration_min=50,
        participant="Jane Doe",
        invite_channel="email",
        email="jane.doe@example.com",
        phone=None,
        participant_tz="America/Los_Angeles",
    )
    fields.update(overrides)
    return session_rows.create_session(s, **fields)


def at(wall: str, tz: str = "America/New_York") -> datetime:
    return datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(tz))


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Frozen at Tuesday 2026-11-24 10:00 Eastern unless a test moves it."""
    with time_machine.travel(at("2026-11-24 10:00"), tick=False) as traveller:
        yield traveller


class Chat:
    """A clinician talking to the runner; every turn must answer exactly once."""

    def __init__(self, parts: Parts, who: Who) -> None:
        self.parts = parts
        self.who = who
        self.transcript: list[tuple[str, str]] = []

    def say(self, text: str, *, turn_id: str | None = None) -> Reply:
        reply = self.parts.runner.handle(self.who, text, turn_id=turn_id)
        if not reply.duplicate:
            assert reply.messages, f"the bot said nothing to {text!r}"
        self.transcript.append((text, reply.text))
        return reply

    def click(self, reply: Reply, title_start: str) -> Reply:
        for message in reply.messages:
            for button in message.buttons:
                if button.title.startswith(title_start):
                    return self.say(button.payload)
        raise AssertionError(f"no button {title_start!r} in {reply.text!r}")

    def state(self) -> TrackerState:
        """The saved conversation (a test that has talked knows there is one)."""
        state = self.parts.runner.state_of(self.who)
        assert state is not None, "no conversation saved"
        return state


@pytest.fixture
def chat(parts: Parts) -> Chat:
    return Chat(parts, Who("T_TEST", "U_CLIN1", tz="America/New_York"))


@pytest.fixture
def chat_any(parts_any: Parts) -> Chat:
    return Chat(parts_any, Who("T_TEST", "U_CLIN1", tz="America/New_York"))
