"""The store on SQLite and PostgreSQL: UTC times, encryption at rest, contacts by prefix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from conftest import TEST_KEY, make_session
from cryptography.fernet import Fernet
from sqlalchemy.orm.exc import StaleDataError

from store import claim_rows, clinician_rows, crypto, session_rows
from store.db import NOT_MIGRATED, SCHEMA_HEAD, KeyMismatch, NotMigrated, Store


def test_times_are_stored_in_utc_and_come_back_aware(store: Store) -> None:
    with store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T1", "U1", tz="America/New_York")
        session, _ = make_session(s, clinician.id)
        session_id = session.id
    with store.unit() as s:
        loaded = session_rows.session_by_id(s, session_id)
        assert loaded is not None
        assert loaded.start_at == datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
        offset = loaded.start_at.utcoffset()
        assert offset is not None and offset.total_seconds() == 0


def test_participant_data_is_ciphertext_in_the_database(store: Store) -> None:
    with store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T1", "U1")
        make_session(s, clinician.id, phone="+16175550101")
        clinician_rows.save_tracker(s, clinician.id, {"slots": {"participant": "Jane Doe"}})
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.text("select participant, email, token from scheduled_sessions")
        ).one()
        state = conn.execute(sa.text("select state from trackers")).scalar_one()
    for value in (*row, state):
        assert value.startswith("gAAAA")
        assert "Jane" not in value and "example.com" not in value


def test_link_tokens_are_found_by_hash_only(store: Store) -> None:
    with store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T1", "U1")
        session, token = make_session(s, clinician.id)
        assert session.token_hash == crypto.hash_token(token) != token
    with store.unit() as s:
        found = session_rows.session_by_token(s, token)
        assert found is not None and found.participant == "Jane Doe"
        other = "y" if token.endswith("x") else "x"  # a token one character off
        assert session_rows.session_by_token(s, token[:-1] + other) is None


def test_contacts_are_offered_by_prefix_and_only_to_their_clinician(store: Store) -> None:
    with store.unit() as s:
        mine = clinician_rows.get_clinician(s, "T1", "U1")
        other = clinician_rows.get_clinician(s, "T1", "U2")
        for name in ("Jane Doe", "John Smith", "JD"):
            clinician_rows.upsert_contact(
                s,
                mine.id,
                name=name,
                invite_channel="none",
                email=None,
                phone=None,
                participant_tz=None,
            )
        clinician_rows.upsert_contact(
            s,
            other.id,
            name="Janet Other",
            invite_channel="none",
            email=None,
            phone=None,
            participant_tz=None,
        )
    with store.unit() as s:

        def names(prefix: str) -> list[str]:
            return sorted(c.name for c in clinician_rows.find_contacts(s, mine.id, prefix))

        assert names("ja") == ["Jane Doe"]
        assert names("j") == ["JD", "Jane Doe", "John Smith"]
        assert names("smi") == ["John Smith"]
        jane = clinician_rows.contact_by_name(s, mine.id, "  jane   DOE ")
        assert jane is not None and jane.name == "Jane Doe"
        assert clinician_rows.contact_by_name(s, mine.id, "Janet Other") is None


def test_a_contact_is_updated_not_duplicated(store: Store) -> None:
    with store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T1", "U1")
        for phone in ("+16175550101", "+16175550102"):
            clinician_rows.upsert_contact(
                s,
                clinician.id,
                name="JD",
                invite_channel="sms",
                email=None,
                phone=phone,
                participant_tz="America/Chicago",
            )
    with store.unit() as s:
        (contact,) = clinician_rows.find_contacts(s, clinician.id, "")
        assert contact.phone == "+16175550102"


def test_an_old_key_still_decrypts_after_rotation(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'rot.db'}"
    old = Store.open(url, [TEST_KEY])
    with old.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T1", "U1")
        make_session(s, clinician.id)
    old.dispose()
    rotated = Store.open(url, [Fernet.generate_key().decode(), TEST_KEY])
    with rotated.unit() as s:
        assert session_rows.list_sessions(s, clinician.id)[0].participant == "Jane Doe"
    rotated.dispose()
    with pytest.raises(KeyMismatch, match="cannot read this database"):
        Store.open(url, [Fernet.generate_key().decode()])  # refused at open (tests/test_keys.py)
    Store.open(url, [TEST_KEY]).dispose()


def test_an_inbound_event_is_recorded_once(store: Store) -> None:
    with store.unit() as s:
        assert claim_rows.first_time(s, "slack:Ev1")
        assert not claim_rows.first_time(s, "slack:Ev1")
    with store.unit() as s:
        assert not claim_rows.first_time(s, "slack:Ev1")


def test_the_schema_head_is_the_newest_migration() -> None:
    """A new migration must move `SCHEMA_HEAD`, or every process would think its store
    up to date (or behind) without asking alembic."""
    from alembic.script import ScriptDirectory

    from store.db import alembic_config

    assert ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads() == [SCHEMA_HEAD]


def test_a_store_behind_the_migrations_is_refused_until_upgraded(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store.open(url, [TEST_KEY]).dispose()  # the embedded store migrates itself
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # as a store left at the migration before this version's
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0019'")
    with pytest.raises(NotMigrated) as refused:
        Store.open(url, [TEST_KEY], upgrade=False)
    assert str(refused.value) == NOT_MIGRATED
    with pytest.raises(NotMigrated):  # never migrated at all
        Store.open(f"sqlite:///{tmp_path / 'empty.db'}", [TEST_KEY], upgrade=False)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE alembic_version SET version_num = :head", {"head": SCHEMA_HEAD}
        )
    up_to_date = Store.open(url, [TEST_KEY], upgrade=False)
    assert not up_to_date.needs_upgrade()
    up_to_date.dispose()
    engine.dispose()


def test_the_migrations_build_exactly_the_models(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from store.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # slack_sdk's own tables are not ours to model; encrypted columns are text underneath.
    real = [d for d in diff if "slack_" not in str(d) and "modify_type" not in str(d)]
    assert real == []


def test_a_conversation_saved_over_a_newer_one_fails_and_keeps_the_newer(store: Store) -> None:
    """The tracker's version check (one UPDATE of the version read): a save over a
    tracker another writer saved since it was read fails, and what that writer saved
    stays; an ordinary save moves the version on."""
    with store.unit() as s:
        clinician, _ = clinician_rows.open_conversation(s, "T1", "U_STALE")
        clinician_rows.save_tracker(s, clinician.id, {"said": "first"})
    with store.unit() as s:
        clinician, saved = clinician_rows.open_conversation(s, "T1", "U_STALE")
        assert saved == {"said": "first"}
        clinician_rows.save_tracker(s, clinician.id, {"said": "second"})
    with store.unit() as s:
        clinician, saved = clinician_rows.open_conversation(s, "T1", "U_STALE")
        assert saved == {"said": "second"}
        clinician_id = clinician.id
    with pytest.raises(StaleDataError), store.unit() as s:
        clinician, _ = clinician_rows.open_conversation(s, "T1", "U_STALE")
        # Another writer's save lands after this unit read the tracker.
        s.execute(
            sa.text("UPDATE trackers SET version = version + 1 WHERE clinician_id = :c"),
            {"c": clinician_id},
        )
        clinician_rows.save_tracker(s, clinician.id, {"said": "stale"})
    with store.reading() as s:
        assert clinician_rows.load_tracker(s, clinician_id) == {"said": "second"}
