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
from typing import Generic, Protocol, TypeVar

from actions.extraction.reader import Finder
from dialogue.slots import SlotValueError, encode
from ground.jsontypes import JSON
from ground.practice import Practice
from ground.session import SessionSpec

T = TypeVar("T")


@dataclass(frozen=True)
class Said:
    """What a message did to the table's slots: slot -> the value to set (encoded), and
    the sentences to say (said back, or why a value was refused)."""

    values: Mapping[str, JSON]
    acks: Sequence[str]
    refusals: Sequence[str]


@dataclass(frozen=True)
class SlotDef(Generic[T]):
    """One slot, whole. `name` is the tracker's slot (declared in dialogue/domain.yml)."""

    name: str
    # Reads the slot's value out of a message, claiming its words; None: not said.
    find: Finder[T]
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

    # What the plumbing asks of a slot (`TableSlot`), from tracker values: the value
    # read stays inside, where its type is known.

    def value(self, raw: object) -> T | None:
        """A tracker value as what it is; one that is not reads as not given."""
        if raw is None:
            return None
        try:
            return self.read(raw)
        except SlotValueError:
            return None

    def heard(self, raw: object, held: object, practice: Practice) -> Said:
        """A value a message gives (`raw`), checked against the one the draft holds: set
        and said back, or refused; the same value again says nothing."""
        value = self.value(raw)
        if value is None or value == self.value(held):
            return Said({}, (), ())
        why = self.refuse(value, practice)
        if why is not None:
            return Said({}, (), (why,))
        return Said({self.name: encode(value)}, (self.said(value, practice),), ())

    def applied(self, spec: SessionSpec, raw: object) -> SessionSpec:
        """The session with the draft's value of this slot, if it holds one."""
        value = self.value(raw)
        return spec if value is None else self.apply(spec, value)

    def summary_line(self, raw: object, practice: Practice) -> str | None:
        """This slot's own summary line for the draft's value, if any."""
        value = self.value(raw)
        return None if value is None else self.summary(value, practice)


class TableSlot(Protocol):
    """A slot of the table, whatever its value's type: a `SlotDef[T]` for some T, seen
    through what takes and gives only types the plumbing knows (an existential: no
    caller can mix one slot's value with another's callables)."""

    @property
    def name(self) -> str: ...
    @property
    def before(self) -> str: ...
    @property
    def shown_in(self) -> str: ...
    @property
    def find(self) -> Finder[object]: ...
    def heard(self, raw: object, held: object, practice: Practice) -> Said: ...
    def applied(self, spec: SessionSpec, raw: object) -> SessionSpec: ...
    def summary_line(self, raw: object, practice: Practice) -> str | None: ...


def _packed(slot: SlotDef[T]) -> TableSlot:
    """A slot of any value type is a `TableSlot` (mypy checks it here, for every T)."""
    return slot


def _discover() -> tuple[TableSlot, ...]:
    """Every module of this package that declares a `SLOT`, in the order of their names."""
    found: list[TableSlot] = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        slot = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SLOT", None)
        if not isinstance(slot, SlotDef):
            raise TypeError(f"{__name__}.{module.name} declares no SLOT")
        found.append(_packed(slot))
    return tuple(found)


SLOTS: tuple[TableSlot, ...] = _discover()
NAMES: tuple[str, ...] = tuple(slot.name for slot in SLOTS)


def said_in(found: Mapping[str, object], slots: Mapping[str, object], practice: Practice) -> Said:
    """The table's slots this message gives a new value, checked; the same value again
    says nothing."""
    values: dict[str, JSON] = {}
    acks: list[str] = []
    refusals: list[str] = []
    for slot in SLOTS:
        raw = found.get(slot.name)
        if raw is None:
            continue
        if isinstance(raw, Mapping) and "invalid" in raw:  # its finder refused the words
            refusals.append(str(raw["invalid"]))
            continue
        heard = slot.heard(raw, slots.get(slot.name), practice)
        values.update(heard.values)
        acks += heard.acks
        refusals += heard.refusals
    return Said(values, acks, refusals)


def applied(spec: SessionSpec, slots: Mapping[str, object]) -> SessionSpec:
    """The session with every table slot the draft holds."""
    for slot in SLOTS:
        spec = slot.applied(spec, slots.get(slot.name))
    return spec


def summary_lines(
    slots: Mapping[str, object], practice: Practice, mark: Callable[[str], str]
) -> list[str]:
    """Each table slot's own summary line, marked as `mark(name)` says."""
    lines = []
    for slot in SLOTS:
        line = slot.summary_line(slots.get(slot.name), practice)
        if line is not None:
            lines.append(line + mark(slot.name))
    return lines


def shown_in(line: str) -> tuple[str, ...]:
    """The table's slots that show in the summary's `line` ("when")."""
    return tuple(slot.name for slot in SLOTS if slot.shown_in == line)


def finders_before(finder: str) -> list[tuple[str, Finder[object]]]:
    """The table's finders to run just before extraction's `finder`."""
    return [(slot.name, slot.find) for slot in SLOTS if slot.before == finder]
