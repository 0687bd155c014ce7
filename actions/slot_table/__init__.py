"""Slots declared whole in one module each: the slot table.

A module here declares one `SlotDef`: how the slot is read from a message (a finder over
the extraction's `Reader`, so its words are claimed and never read as another slot), how
its tracker value is read back, what the conversation refuses in words, how a change is
said back, its line in the summary, and what it changes in the `SessionSpec`. The
conversation's plumbing reads the table and nothing else:

- `actions/extraction/message.py` runs each finder before the finder it names (`before`);
- `actions/schedule_form.py` says a value back (or refuses it) in every turn of a draft;
- `actions/drafts.py` shows it in the summary, clears it with the draft, and applies it
  to the session Save books; the summary marks its line when it changed.

Such a slot is said in passing ("for 90 minutes", "she speaks Spanish"), never asked;
to ask it too, put it in `actions/needed.py`'s order and give it an `utter_ask_<slot>`.
The first version's interlocking slots (date and time, the participant and how they are
invited, payment) keep their hand-written validators in `actions/form_validators.py`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from actions.extraction.reader import Context, Reader
from dialogue.slots import SlotValueError, encode
from ground.practice import Practice
from ground.session import SessionSpec

T = TypeVar("T")


@dataclass(frozen=True)
class SlotDef(Generic[T]):
    """One slot, whole. `name` is the tracker's slot (declared in dialogue/domain.yml)."""

    name: str
    # Reads the slot's value out of a message, claiming its words; None: not said.
    find: Callable[[Reader, Context], T | None]
    # The finder of `actions/extraction/message.py` this one runs before ("time").
    before: str
    # A tracker value back as what it is; SlotValueError when it is not.
    read: Callable[[object], T]
    # Why a value can't be used, in a sentence for the clinician; None: it can.
    refuse: Callable[[T, Practice], str | None]
    # The value said back when it is set ("The session will last 90 minutes.").
    said: Callable[[T, Practice], str]
    # The session as Save books it, with this answer.
    apply: Callable[[SessionSpec, T], SessionSpec]
    # Its own summary line; None: it shows in a line the summary has anyway.
    summary: Callable[[T, Practice], str | None] = lambda _value, _practice: None
    # The summary line that shows it ("when"), marked when it changed; "": its own.
    shown_in: str = ""


def _discover() -> tuple[SlotDef[Any], ...]:
    """Every module of this package that declares a `SLOT`, in the order of their names."""
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        slot = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SLOT", None)
        if not isinstance(slot, SlotDef):
            raise TypeError(f"{__name__}.{module.name} declares no SLOT")
        found.append(slot)
    return tuple(found)


# A slot of the table may hold any type: each one's callables agree on theirs.
SLOTS: tuple[SlotDef[Any], ...] = _discover()
NAMES: tuple[str, ...] = tuple(slot.name for slot in SLOTS)


def read(slot: SlotDef[T], raw: object) -> T | None:
    """A tracker value as what it is; one that is not reads as not given."""
    if raw is None:
        return None
    try:
        return slot.read(raw)
    except SlotValueError:
        return None


@dataclass(frozen=True)
class Said:
    """What a message did to the table's slots: slot -> the value to set (encoded), and
    the sentences to say (said back, or why a value was refused)."""

    values: Mapping[str, object]
    acks: Sequence[str]
    refusals: Sequence[str]


def said_in(found: Mapping[str, object], slots: Mapping[str, object], practice: Practice) -> Said:
    """The table's slots this message gives a new value, checked; the same value again
    says nothing."""
    values: dict[str, object] = {}
    acks: list[str] = []
    refusals: list[str] = []
    for slot in SLOTS:
        raw = found.get(slot.name)
        if raw is None:
            continue
        if isinstance(raw, Mapping) and "invalid" in raw:  # its finder refused the words
            refusals.append(str(raw["invalid"]))
            continue
        value = read(slot, raw)
        if value is None:
            continue
        if value == read(slot, slots.get(slot.name)):
            continue
        why = slot.refuse(value, practice)
        if why is not None:
            refusals.append(why)
            continue
        values[slot.name] = encode(value)
        acks.append(slot.said(value, practice))
    return Said(values, acks, refusals)


def applied(spec: SessionSpec, slots: Mapping[str, object]) -> SessionSpec:
    """The session with every table slot the draft holds."""
    for slot in SLOTS:
        value = read(slot, slots.get(slot.name))
        if value is not None:
            spec = slot.apply(spec, value)
    return spec


def summary_lines(
    slots: Mapping[str, object], practice: Practice, mark: Callable[[str], str]
) -> list[str]:
    """Each table slot's own summary line, marked as `mark(name)` says."""
    lines = []
    for slot in SLOTS:
        value = read(slot, slots.get(slot.name))
        line = None if value is None else slot.summary(value, practice)
        if line is not None:
            lines.append(line + mark(slot.name))
    return lines


def shown_in(line: str) -> tuple[str, ...]:
    """The table's slots that show in the summary's `line` ("when")."""
    return tuple(slot.name for slot in SLOTS if slot.shown_in == line)


def finders_before(finder: str) -> list[tuple[str, Callable[[Reader, Context], object]]]:
    """The table's finders to run just before extraction's `finder`."""
    return [(slot.name, slot.find) for slot in SLOTS if slot.before == finder]
