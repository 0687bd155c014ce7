"""Opening the store: engine, keyring, migrations, the key check, and units of work.

`Store.open(url, keys, key_file)` connects, sets the encryption keyring, (for the
embedded SQLite store) brings the schema up to date, and checks that the keys read the
data: a canary in `key_check`, written under the first key at the first open. A process
whose keys cannot read it stops there, before it writes anything. `store.unit()` is one
transaction.
"""

from __future__ import annotations

import contextvars
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from store import audit  # noqa: F401  (its listeners write the audit rows at commit)
from store.crypto import (
    CANARY,
    EncryptedText,
    Keyring,
    UndecryptableError,
    keyring,
    load_or_create_key_file,
    set_keyring,
)
from store.models import Base, KeyCheck
from store.writelock import WriteLock

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision (tests/test_store.py checks it against alembic's head):
# whether a store is up to date is one read of `alembic_version`, without importing alembic
# and parsing every migration script in each process that opens the store (~15 MiB and
# ~0.1 s a process: bench/README.md, "Memory").
SCHEMA_HEAD = "0021"

# A unit of work already open further up the call stack (a dialogue turn); code that
# asks for a unit inside it joins it, so the turn commits or rolls back as one.
_ambient: contextvars.ContextVar[Session | None] = contextvars.ContextVar("ambient", default=None)


class StoreOpenError(RuntimeError):
    """The store cannot be opened as configured; `str()` is one line for the user."""


class MissingKey(StoreOpenError):
    """No key is configured for a database that is not the embedded default."""


class KeyMismatch(StoreOpenError):
    """The configured keys cannot read this database's data."""


class NotMigrated(StoreOpenError):
    """The schema is behind this version: `sessionbot db upgrade` first."""


NOT_MIGRATED = (
    "the database schema is not up to date with this version: run `sessionbot db upgrade` "
    "(once, before the new processes start)"
)


MISSING_KEY = (
    "SESSIONBOT_ENCRYPTION_KEY is not set: a database other than the embedded default "
    "needs the key its data is encrypted with (`sessionbot keys new` makes a new one)"
)
WRONG_KEY = (
    "SESSIONBOT_ENCRYPTION_KEY cannot read this database: its data was encrypted with "
    "another key (after a new key, list it first and the old one after it: NEW,OLD)"
)


def encrypted_columns() -> list[tuple[sa.Table, sa.Column[str]]]:
    """Every encrypted column of the schema, table by table (for the check and rotation)."""
    return [
        (table, column)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def raw(table: sa.TableClause, *names: str) -> sa.TableClause:
    """`table` with plain string columns: ciphertext read and written as it is stored."""
    return sa.table(table.name, *(sa.column(n, sa.String) for n in names))


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """`pool_size` and `max_overflow` (a server database only): the connections one
    process keeps open, and how many more it may open for a burst
    (SESSIONBOT_DB_POOL_SIZE, SESSIONBOT_DB_MAX_OVERFLOW)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            # Autocommit at the driver level; we issue BEGIN ourselves (below).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL syncs at checkpoints, not at every commit: a commit survives
            # the process being killed (the Slack inbox relies on that), and only a power
            # loss may roll back the last few. Rails and most embedded users do the same.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # A unit reads then writes; IMMEDIATE takes the write lock up front so two
            # processes never deadlock upgrading a read lock. Readers don't wait (WAL).
            if conn.get_execution_options().get("sessionbot_read"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)


class Store:
    """The database behind every process: web, worker, shell and action server."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer: ours queue for it on a lock of their own, handed over at
        # once, instead of in SQLite's busy handler (store/writelock.py).
        self._writer: WriteLock | None = None
        if engine.dialect.name == "sqlite":
            path = engine.url.database
            file = Path(path) if path and path != ":memory:" else None
            self._writer = WriteLock(file)

    @classmethod
    def open(
        cls,
        url: str,
        keys: tuple[str, ...] | list[str] = (),
        key_file: Path | None = None,
        *,
        upgrade: bool | None = None,
        require_schema: bool = True,
        pool_size: int = 10,
        max_overflow: int = 20,
    ) -> Store:
        """Connect; keys from the environment, else the embedded key file (given only
        for the embedded default store). Raises StoreOpenError (one line) when no key is
        given or the keys cannot read the data."""
        if not keys:
            if key_file is None:
                raise MissingKey(MISSING_KEY)
            try:
                keys = [load_or_create_key_file(key_file)]
            except OSError as exc:
                raise StoreOpenError(
                    f"the key file {key_file} cannot be made or read ({exc.strerror}): "
                    "check that SESSIONBOT_DATA_DIR is a folder this user can write"
                ) from None
        try:
            set_keyring(Keyring(list(keys)))
        except ValueError as exc:
            raise StoreOpenError(str(exc)) from None
        try:
            engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        except OSError as exc:  # the embedded store's folder cannot be made
            raise StoreOpenError(f"the database cannot be reached ({exc.strerror})") from None
        store = cls(engine)
        wanted = upgrade if upgrade is not None else url.startswith("sqlite")
        if wanted and (upgrade or store.needs_upgrade()):
            store.upgrade()
        elif not wanted and require_schema and store.needs_upgrade():
            store.dispose()
            raise NotMigrated(NOT_MIGRATED)
        store.check_keys()
        return store

    def check_keys(self) -> None:
        """Refuse keys that cannot read the store; write the canary when there is none.

        Before a first canary is written, the keys must read a sample of what is stored
        already (an older store, or one whose canary was cleared), so a wrong key never
        plants a canary of its own over data it cannot read.
        """
        ring = keyring()
        token, stored = self._read_check()
        if token is None:
            if stored is not None:
                self._refuse_unless_readable(ring, stored)
            self._write_canary(ring)
        elif token != "-":
            self._refuse_unless_readable(ring, token)

    def _read_check(self) -> tuple[str | None, str | None]:
        """(the canary, or "-" before migration 0008; some stored ciphertext when none)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sessionbot_read=True)
            with conn.begin():
                if not sa.inspect(conn).has_table("key_check"):
                    return "-", None  # a schema before 0008: `sessionbot db upgrade` first
                token = conn.execute(sa.text("SELECT canary FROM key_check WHERE id = 1")).scalar()
                if token is not None:
                    return str(token), None
                for table, column in encrypted_columns():
                    found = conn.execute(
                        sa.select(sa.column(column.name, sa.String))
                        .select_from(raw(table, column.name))
                        .where(sa.column(column.name).is_not(None))
                        .limit(1)
                    ).scalar()
                    if found:
                        return None, str(found)
        return None, None

    @staticmethod
    def _refuse_unless_readable(ring: Keyring, token: str) -> None:
        try:
            ring.decrypt(token)
        except UndecryptableError:
            raise KeyMismatch(WRONG_KEY) from None

    def _write_canary(self, ring: Keyring) -> None:
        try:
            with self.unit() as s:
                s.add(KeyCheck(id=1, canary=ring.encrypt(CANARY)))
        except IntegrityError:  # another process wrote it at the same moment
            self.check_keys()

    def rewrite_canary(self) -> None:
        """The canary under the first key (the end of `sessionbot keys rotate`)."""
        with self.unit() as s:
            row = s.get(KeyCheck, 1)
            if row is None:
                s.add(KeyCheck(id=1, canary=keyring().encrypt(CANARY)))
            else:
                row.canary, row.written_at = keyring().encrypt(CANARY), datetime.now(UTC)

    def needs_upgrade(self) -> bool:
        """Whether the schema is not at the migrations' head (read only: never waits on a
        writer). A store without alembic's table has never been migrated."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sessionbot_read=True)
            with conn.begin():
                if not sa.inspect(conn).has_table("alembic_version"):
                    return True
                current = set(conn.execute(sa.text("SELECT version_num FROM alembic_version")))
        return current != {(SCHEMA_HEAD,)}

    def upgrade(self) -> None:
        from alembic import command

        cfg = alembic_config(self.engine.url.render_as_string(hide_password=False))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on error.

        Inside `bound()`, joins the unit already open instead of starting another.
        """
        ambient = _ambient.get()
        if ambient is not None:
            yield ambient
            return
        with self._held(), self._sessions() as session, session.begin():
            yield session

    def _held(self, *, urgent: bool = False) -> AbstractContextManager[None]:
        return nullcontext() if self._writer is None else self._writer.held(urgent=urgent)

    @contextmanager
    def statements(self, *, urgent: bool = False) -> Iterator[Connection]:
        """A unit of SQL statements without an ORM session: commits on success.

        For the short writes on every Slack request's path (the inbox's group write:
        requests kept, marked done, answers marked delivered), which load no objects
        and record nothing for the audit: a session's making, its transaction and its
        connection checkout were about 70 of a write's 250 us of CPU on SQLite
        (bench/README.md, "third session"). `urgent`: a write that Slack's ack waits for,
        which on SQLite goes before other processes' writers (store/writelock.py)."""
        with self._held(urgent=urgent), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit that only reads: on SQLite it never waits for a writer."""
        ambient = _ambient.get()
        if ambient is not None:
            yield ambient
            return
        with self.engine.connect() as conn:
            conn = conn.execution_options(sessionbot_read=True)
            with Session(bind=conn, expire_on_commit=False) as session, session.begin():
                yield session

    @contextmanager
    def bound(self, session: Session) -> Iterator[None]:
        """Make `session` the unit that nested `unit()` calls join."""
        token = _ambient.set(session)
        try:
            yield
        finally:
            _ambient.reset(token)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._writer is not None:
            self._writer.close()
