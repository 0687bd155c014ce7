"""Values re-encrypted per second by `sessionbot keys rotate`, against the same I/O
without cryptography.

The store is filled under one key (sessions booked as the conversation books them, with
their contacts, reminders and opt-outs), then `store.rotation.rotate` moves every value
to a new key in batches of 500. The baseline, in the same run on the same rows, reads
the same columns in the same batches and writes each row back unchanged (compare and set,
as rotate does), so the ratio is what the decrypt, encrypt and blind indexes add. Rotation
goes back and forth between the two keys to repeat it; the median of the runs is shown.

    python bench/bench_keys.py [--rows 2000] [--runs 3] [--db postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

from ground.practice import load_practice
from ground.session import SessionSpec
from scheduling import booking
from store import clinician_rows, outbox_rows
from store.crypto import keyring
from store.db import Store, encrypted_columns, raw
from store.rotation import INDEXES, _batches, rotate

A = Fernet.generate_key().decode()
B = Fernet.generate_key().decode()
BENCH_DB = "sessionbot_bench_keys"


def fill(store: Store, rows: int) -> None:
    practice = load_practice(None)
    now = datetime.now(UTC)
    with store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_BENCH", "U_BENCH")
        for i in range(rows):
            draft = SessionSpec.for_one(
                draft_id=f"bench-{i}",
                start=now + timedelta(days=3, minutes=i),
                duration_min=50,
                participant=f"P{i}",
                invite_channel="sms",
                email=None,
                phone=f"+1617555{i:04d}",
                participant_tz="America/Los_Angeles",
                documents=None,
                service=None,
                amount=None,
            )
            booking.book(s, clinician, draft, practice, now)
            if i % 10 == 0:
                phone = f"+1617555{i:04d}"
                outbox_rows.set_sms_opt_out(s, keyring().blind_indexes(phone), True, phone=phone)


def baseline(store: Store, batch: int) -> int:
    """The rotation's reads and writes, with the values written back as they are."""
    written = 0
    tables: dict[str, tuple[sa.Table, list[str]]] = {}
    for table, column in encrypted_columns():
        tables.setdefault(table.name, (table, []))[1].append(column.name)
    for table, columns in tables.values():
        (pk,) = [c.name for c in table.primary_key.columns]
        plain = raw(table, *dict.fromkeys([pk, *columns, *INDEXES.get(table.name, ())]))
        for rows in _batches(store, table, columns, batch):
            with store.unit() as s:
                for row in rows:
                    values = {c: row[c] for c in columns if row[c] is not None}
                    if not values:
                        continue
                    where = [plain.c[pk] == row["_pk"]]
                    where += [plain.c[c] == v for c, v in values.items()]
                    s.execute(sa.update(plain).where(*where).values(**values))
                    written += len(values)
    return written


def measure(url: str, rows: int, runs: int) -> None:
    store = Store.open(url, [A], upgrade=True)
    with store.engine.begin() as conn:
        names = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
        for name in names:
            conn.exec_driver_sql(f'DELETE FROM "{name}"')
    store.dispose()
    store = Store.open(url, [A])
    began = time.perf_counter()
    fill(store, rows)
    print(f"filled {rows} sessions in {time.perf_counter() - began:.1f} s")
    store.dispose()
    rotations, baselines, row_rates = [], [], []
    keys = [A, B]
    for run in range(runs):
        store = Store.open(url, [keys[(run + 1) % 2], keys[run % 2]])
        began = time.perf_counter()
        values = baseline(store, 500)
        baselines.append(values / (time.perf_counter() - began))
        began = time.perf_counter()
        counts = rotate(store, batch=500)
        took = time.perf_counter() - began
        rotations.append(counts["values re-encrypted"] / took)
        row_rates.append(counts["rows rewritten"] / took)
        assert counts["values re-encrypted"] == values, (counts, values)
        store.dispose()
    rot, base = statistics.median(rotations), statistics.median(baselines)
    print(f"{store.engine.dialect.name}: {values} values ({rows} sessions and their rows)")
    print(
        f"  keys rotate:          {rot:,.0f} values/s ({statistics.median(row_rates):,.0f} rows/s)"
    )
    print(f"  baseline (no crypto): {base:,.0f} values/s")
    print(f"  ratio (baseline / rotate time): {base / rot:.2f}x slower with cryptography")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--db", help="also on PostgreSQL: a server URL (a database of its own is made there)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure(f"sqlite:///{Path(folder) / 'bench.db'}", args.rows, args.runs)
    if args.db:
        admin = sa.create_engine(sa.make_url(args.db), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{BENCH_DB}"')
        try:
            url = sa.make_url(args.db).set(database=BENCH_DB)
            measure(url.render_as_string(hide_password=False), args.rows, args.runs)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
