"""One key, checked, rotatable: a wrong or missing key stops a process before it writes,
NEW,OLD finds everything stored under OLD, and `sessionbot keys rotate` moves it all to NEW."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import TEST_KEY, make_settings
from cryptography.fernet import Fernet
from fake_twilio import FakeTwilio, sign
from outbox_kit import CLINICIAN, book_many, outbox, run_worker, schedule
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sessionbot.webhooks import routes
from sessionbot.wiring import Parts, build
from store import clinician_rows, outbox_rows, session_rows
from store.crypto import Keyring, keyring
from store.db import KeyMismatch, Store, encrypted_columns, raw
from store.models import Contact
from store.rotation import rotate

ROOT = Path(__file__).resolve().parents[1]
OLD = TEST_KEY
NEW = Fernet.generate_key().decode()
PHONE = "+16175550101"
SMS_URL = "https://sessions.example.test/webhooks/twilio/sms"


def _wipe(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
        conn.exec_driver_sql(
            "TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend; on PostgreSQL emptied again after (the next
    test's store must not meet a key check under a key of this one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url = request.getfixturevalue("pg_url")
    _wipe(url)
    yield url
    _wipe(url)


def parts_with(tmp_path: Path, url: str, keys: list[str], twilio: FakeTwilio) -> Parts:
    store = Store.open(url, keys)
    settings = make_settings(tmp_path, SESSIONBOT_ENCRYPTION_KEY=",".join(keys), **twilio.env())
    return build(settings, store=store)


def text_in(parts: Parts, body: str, sid: str) -> None:
    form = {"From": PHONE, "To": "+15005550006", "Body": body, "MessageSid": sid}
    client = TestClient(Starlette(routes=routes(parts)))
    response = client.post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": sign(SMS_URL, form)}
    )
    assert response.status_code == 200


def contacts(parts: Parts) -> int:
    with parts.store.unit() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Contact)) or 0


def cli_env(tmp_path: Path, url: str | None, keys: str | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "SESSIONBOT_DATA_DIR": str(tmp_path / "data"),
        "SESSIONBOT_PUBLIC_URL": "https://sessions.example.test",
    }
    if url is not None:
        env["SESSIONBOT_DATABASE_URL"] = url
    if keys is not None:
        env["SESSIONBOT_ENCRYPTION_KEY"] = keys
    return env


def sessionbot(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sessionbot.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout + done.stderr  # bad configuration
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    return line


def stored_tokens(url: str) -> list[str]:
    """Every encrypted value as stored."""
    engine = sa.create_engine(url)
    found = []
    with engine.connect() as conn:
        for table, column in encrypted_columns():
            plain = raw(table, column.name)
            found += [t for (t,) in conn.execute(sa.select(plain.c[column.name])) if t is not None]
    engine.dispose()
    return found


# A wrong or missing key ----------------------------------------------------------------


def test_a_wrong_key_is_refused_in_one_line_before_anything_is_written(
    tmp_path: Path, db_url: str, fake_twilio: FakeTwilio
) -> None:
    parts = parts_with(tmp_path, db_url, [OLD], fake_twilio)
    book_many(parts, 2)  # two texts due
    parts.store.dispose()
    env = cli_env(tmp_path, db_url, Fernet.generate_key().decode()) | fake_twilio.env()

    line = one_line(sessionbot(tmp_path, env, "worker", "--once"))

    assert line.startswith("sessionbot worker: SESSIONBOT_ENCRYPTION_KEY cannot read this database")
    assert fake_twilio.messages == []
    # A store from before the key check (no canary yet): the stored data is the check.
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM key_check")
    line = one_line(sessionbot(tmp_path, env, "sessions"))
    assert "cannot read this database" in line
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM key_check").scalar() == 0
        statuses = conn.exec_driver_sql("SELECT status FROM outbox").scalars().all()
    engine.dispose()
    assert len(statuses) > 2 and set(statuses) == {"pending"}  # nothing sent, nothing claimed
    assert not (tmp_path / "data" / "encryption.key").exists()


def test_a_database_other_than_the_embedded_default_needs_the_key(tmp_path: Path) -> None:
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere' / 'sessionbot.db'}"
    line = one_line(sessionbot(tmp_path, cli_env(tmp_path, elsewhere, None), "sessions"))
    assert line.startswith("sessionbot sessions: SESSIONBOT_ENCRYPTION_KEY is not set")
    assert not (tmp_path / "data" / "encryption.key").exists()  # no key of its own
    assert not (tmp_path / "elsewhere" / "sessionbot.db").exists()


def test_postgresql_without_a_key_is_an_error_not_a_key_file(tmp_path: Path, pg_url: str) -> None:
    line = one_line(sessionbot(tmp_path, cli_env(tmp_path, pg_url, None), "worker", "--once"))
    assert line.startswith("sessionbot worker: SESSIONBOT_ENCRYPTION_KEY is not set")
    assert not (tmp_path / "data" / "encryption.key").exists()


def test_keys_new_prints_a_fresh_fernet_key(tmp_path: Path) -> None:
    env = cli_env(tmp_path, None, None)
    first = sessionbot(tmp_path, env, "keys", "new")
    second = sessionbot(tmp_path, env, "keys", "new")
    assert first.returncode == 0 and second.returncode == 0
    key = first.stdout.strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"
    assert key != second.stdout.strip()
    assert not (tmp_path / "data").exists()  # no store opened, no key file made


# NEW,OLD and the rotation --------------------------------------------------------------

TEXT_BOOKING = "JD tomorrow 3pm by text +1 617 555 0101, intake packet"
AGAIN = "JD friday 4pm by text, intake packet"


def test_with_new_and_old_keys_a_stopped_number_stays_stopped_and_the_contact_is_one(
    tmp_path: Path, db_url: str, fake_twilio: FakeTwilio, clock
) -> None:
    parts = parts_with(tmp_path, db_url, [OLD], fake_twilio)
    schedule(parts, TEXT_BOOKING)
    run_worker(parts)
    text_in(parts, "STOP", "SM1")
    parts.store.dispose()
    assert len(fake_twilio.messages) == 1

    rotated = parts_with(tmp_path, db_url, [NEW, OLD], fake_twilio)
    schedule(rotated, AGAIN)  # the contact is offered: JD's number, from before the new key
    run_worker(rotated)

    assert contacts(rotated) == 1  # today: a second JD
    assert len(fake_twilio.messages) == 1  # today: JD, who said STOP, is texted again
    invitations = [m for m in outbox(rotated) if m.kind == "invitation"]
    assert [m.status for m in sorted(invitations, key=lambda m: m.id)] == ["sent", "failed"]
    with rotated.store.unit() as s:
        assert outbox_rows.sms_opted_out(s, keyring().blind_indexes(PHONE))
    text_in(rotated, "START", "SM2")  # START finds the STOP written under the old key
    with rotated.store.unit() as s:
        assert not outbox_rows.sms_opted_out(s, keyring().blind_indexes(PHONE))
    rotated.store.dispose()


def test_keys_rotate_leaves_everything_readable_with_the_new_key_alone(
    tmp_path: Path, db_url: str, fake_twilio: FakeTwilio, clock
) -> None:
    parts = parts_with(tmp_path, db_url, [OLD], fake_twilio)
    schedule(parts, TEXT_BOOKING)
    schedule(parts, "Robin tomorrow 5pm by email robin@example.com, intake packet")
    run_worker(parts)
    text_in(parts, "STOP", "SM1")  # an opt-out, and a notice to the clinician
    with parts.store.unit() as s:  # an opt-out recorded before it kept its number
        s.execute(sa.text("UPDATE sms_opt_outs SET phone = NULL"))
    parts.store.dispose()

    store = Store.open(db_url, [NEW, OLD])
    counts = rotate(store, batch=2)
    assert counts["values re-encrypted"] > 10
    assert counts["blind indexes recomputed"] >= 3  # contacts, the session's phone, STOP
    assert rotate(store, batch=2)["values re-encrypted"] == 0  # idempotent
    store.dispose()

    new_only = Keyring([NEW])
    assert all(new_only.is_current(t) for t in stored_tokens(db_url))
    with pytest.raises(KeyMismatch):
        Store.open(db_url, [OLD])  # the key check moved to NEW too
    after = parts_with(tmp_path, db_url, [NEW], fake_twilio)
    with after.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
        names = sorted(x.participant for x in session_rows.list_sessions(s, clinician.id))
        assert names == ["JD", "Robin"]
        contact = clinician_rows.contact_by_name(s, clinician.id, "jd")
        assert contact is not None and contact.phone == PHONE
        assert outbox_rows.sms_opted_out(s, keyring().blind_indexes(PHONE))
    assert [m.payload for m in outbox(after) if m.kind == "clinician_notice"]  # readable
    schedule(after, AGAIN)
    run_worker(after)
    assert len(fake_twilio.messages) == 1  # STOP still holds with NEW alone
    assert contacts(after) == 2
    after.store.dispose()


def test_a_rotation_killed_half_way_completes_when_run_again(
    tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    parts = parts_with(tmp_path, url, [OLD], fake_twilio)
    book_many(parts, 300)
    parts.store.dispose()
    total = len(stored_tokens(url))
    new_only = Keyring([NEW])

    def moved() -> int:
        return sum(new_only.is_current(t) for t in stored_tokens(url))

    env = cli_env(tmp_path, url, f"{NEW},{OLD}")
    rotating = subprocess.Popen(
        [sys.executable, "-m", "sessionbot.cli", "keys", "rotate", "--batch", "1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while moved() < 50:
            assert rotating.poll() is None, "finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        rotating.send_signal(signal.SIGKILL)
        rotating.wait(timeout=10)
    finally:
        rotating.kill()
    half = moved()
    assert 0 < half < total

    done = sessionbot(tmp_path, env, "keys", "rotate")
    assert done.returncode == 0, done.stderr
    assert f"done: {total - half} values re-encrypted" in done.stdout
    assert moved() == total
    line = sessionbot(tmp_path, cli_env(tmp_path, url, NEW), "sessions", "--all")
    assert line.returncode == 0, line.stderr
