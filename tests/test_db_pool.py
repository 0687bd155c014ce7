"""A process's connections to PostgreSQL are a setting: what it keeps, and a burst's extra.

Sized per process so that processes x (pool + overflow) stays under the server's
`max_connections`, or PgBouncer's pool (README)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from conftest import make_settings

from actions import context
from ground.settings import ConfigError


def test_a_process_opens_no_more_connections_than_its_pool_allows(tmp_path, pg_url) -> None:
    settings = make_settings(
        tmp_path,
        SESSIONBOT_DATABASE_URL=pg_url,
        SESSIONBOT_DB_POOL_SIZE="2",
        SESSIONBOT_DB_MAX_OVERFLOW="1",
    )
    store = context.open_store(settings)
    store.engine.pool._timeout = 1  # type: ignore[attr-defined]  # a fourth waits 1 s, then fails
    held: list[sa.Connection] = []
    try:
        for _ in range(3):
            held.append(store.engine.connect())
        with pytest.raises(sa.exc.TimeoutError):
            store.engine.connect()
        # One given back: the next one gets it.
        held.pop().close()
        got = threading.Event()

        def take() -> None:
            store.engine.connect()
            got.set()

        threading.Thread(target=take).start()
        assert got.wait(10)
    finally:
        for conn in held:
            conn.close()
        store.dispose()


def test_the_pool_size_defaults_and_refuses_nonsense(tmp_path) -> None:
    settings = make_settings(tmp_path)
    assert (settings.db_pool_size, settings.db_max_overflow) == (10, 20)
    with pytest.raises(ConfigError, match="SESSIONBOT_DB_POOL_SIZE must be a number of at least 1"):
        make_settings(tmp_path, SESSIONBOT_DB_POOL_SIZE="0")
