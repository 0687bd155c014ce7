"""`sessionbot keys rotate`: every encrypted value and blind index under the first key.

Table by table, in batches ordered by primary key, each batch one transaction: a value
already under the first key is skipped (its signature checked against that key alone,
nothing decrypted), so a run killed half-way is resumed by running it again. A value is
written back only if it is still the one read (compare and set), so a turn that saved
meanwhile is never overwritten. A blind index is recomputed with the value it indexes.
When every value is under the first key, the key check is written again under it, and
the older keys can leave SESSIONBOT_ENCRYPTION_KEY.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import audit
from store.crypto import Keyring, UndecryptableError, keyring
from store.db import Store, encrypted_columns, raw

# The blind index kept beside an encrypted column: table -> (index column, its source).
INDEXES = {
    "contacts": ("name_index", "name"),
    "scheduled_sessions": ("phone_index", "phone"),
    "sms_opt_outs": ("phone_index", "phone"),  # the primary key itself
    "sms_consents": ("phone_index", "phone"),  # the same
}


def rotate(
    store: Store, *, batch: int = 500, progress: Callable[[str], None] | None = None
) -> Counter[str]:
    """Re-encrypt and re-index everything under the first key; what was done, counted."""
    ring = keyring()
    counts: Counter[str] = Counter()
    tables: dict[str, tuple[sa.Table, list[str]]] = {}
    for table, column in encrypted_columns():
        tables.setdefault(table.name, (table, []))[1].append(column.name)
    for name, (table, columns) in tables.items():
        before = counts["values re-encrypted"]
        known = _known_phones(store, ring) if name == "sms_opt_outs" else {}
        for rows in _batches(store, table, columns, batch):
            with store.unit() as s:
                for row in rows:
                    _rotate_row(s, ring, table, columns, row, counts, known)
        if progress is not None:
            progress(f"{name}: {counts['values re-encrypted'] - before} values re-encrypted")
    if not counts["values left unreadable"]:
        store.rewrite_canary()
        with store.unit() as s:
            audit.record(s, actor=audit.SYSTEM, action="keys_rotated")
    return counts


def _batches(
    store: Store, table: sa.Table, columns: list[str], size: int
) -> Iterator[list[dict[str, str | None]]]:
    (pk,) = [c.name for c in table.primary_key.columns]
    names = [pk, *columns, *([INDEXES[table.name][0]] if table.name in INDEXES else [])]
    plain = raw(table, *dict.fromkeys(names))
    last = None
    while True:
        query = sa.select(*plain.c).order_by(plain.c[pk]).limit(size)
        if last is not None:
            query = query.where(plain.c[pk] > last)
        with store.reading() as s:
            rows = [dict(r._mapping) for r in s.execute(query)]
        if not rows:
            return
        last = rows[-1][pk]
        yield [{"_pk": r[pk], **r} for r in rows]


def _rotate_row(
    s: Session,
    ring: Keyring,
    table: sa.Table,
    columns: list[str],
    row: dict[str, str | None],
    counts: Counter[str],
    known: dict[str, str],
) -> None:
    (pk,) = [c.name for c in table.primary_key.columns]
    plain = raw(table, *dict.fromkeys([pk, *columns, *INDEXES.get(table.name, ())]))
    where = [plain.c[pk] == row["_pk"]]
    values: dict[str, str] = {}
    for column in columns:
        token = row[column]
        if token is None or ring.is_current(token):
            continue
        try:
            values[column] = ring.rotate(token)
        except UndecryptableError:
            counts["values left unreadable"] += 1
            continue
        where.append(plain.c[column] == token)  # unchanged since read, or left alone
    index = INDEXES.get(table.name)
    if index is not None:
        index_column, source = index
        clear = None
        if source in values:
            clear = ring.decrypt(values[source])
        elif table.name == "sms_opt_outs" and row[source] is None:
            clear = known.get(str(row["_pk"]))  # an opt-out from before 0008: its number
            if clear is not None:
                values[source] = ring.encrypt(clear)
            else:  # never scheduled here: found by its index only while its key is listed
                counts["opt-outs of unknown numbers left as they were"] += 1
        if clear is not None:
            fresh = ring.blind_index(clear)
            if fresh != row[index_column] and _free(s, table, plain, row, index_column, fresh):
                values[index_column] = fresh
                counts["blind indexes recomputed"] += 1
            elif fresh != row[index_column]:
                s.execute(sa.delete(plain).where(*where))  # a duplicate made under the new key
                counts["duplicates removed"] += 1
                return
    if not values:
        return
    result = s.execute(sa.update(plain).where(*where).values(**values))
    if result.rowcount:  # type: ignore[attr-defined]
        counts["values re-encrypted"] += sum(1 for c in values if c in columns)
        counts["rows rewritten"] += 1
    else:
        counts["rows changed meanwhile (already under the first key)"] += 1


def _free(
    s: Session,
    table: sa.Table,
    plain: sa.TableClause,
    row: dict[str, str | None],
    index_column: str,
    fresh: str,
) -> bool:
    """Whether the new index can be written without meeting a row that holds it already
    (a contact duplicated under the new key, an opt-out recorded again)."""
    if table.name == "scheduled_sessions":
        return True
    taken = sa.select(sa.func.count()).select_from(table).where(table.c[index_column] == fresh)
    if table.name == "contacts":
        clinician = s.execute(
            sa.select(table.c.clinician_id).where(table.c.id == row["_pk"])
        ).scalar()
        taken = taken.where(table.c.clinician_id == clinician)
    return not s.execute(taken).scalar()


def _known_phones(store: Store, ring: Keyring) -> dict[str, str]:
    """Every key's index of every number in sessions and contacts -> the number, for
    opt-outs recorded before they kept their number (read only if there are any)."""
    with store.reading() as s:
        legacy = s.execute(
            sa.text("SELECT count(*) FROM sms_opt_outs WHERE phone IS NULL")
        ).scalar()
        if not legacy:
            return {}
        known: dict[str, str] = {}
        for name in ("scheduled_sessions", "contacts"):
            plain = raw(sa.table(name), "phone")
            for (token,) in s.execute(sa.select(plain.c.phone).where(plain.c.phone.is_not(None))):
                try:
                    phone = ring.decrypt(token)
                except UndecryptableError:
                    continue
                for index in ring.blind_indexes(phone):
                    known[index] = phone
        return known
