"""One message, read whole: every slot it gives, in a fixed order of finders over one
``Reader`` (e-mail, phone, amount, shift, change request, time, date, zone, channel,
documents, service, intent, participant), so a span is read for one slot only and a phone
number is never read as a date; then what nobody claimed.

The ``parse_*`` functions read one slot the conversation asked for and raise
``ExtractionError`` with a sentence the clinician can act on.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from actions import slot_table
from actions.extraction import spoken, typos
from actions.extraction.amounts import find_amount, find_payment_required
from actions.extraction.channels import find_channel
from actions.extraction.dates import DateChoice, find_date
from actions.extraction.documents import find_documents, find_service
from actions.extraction.emails import find_email, unwrap_slack_links
from actions.extraction.intents import Shift, find_change, find_intent, find_shift
from actions.extraction.others import OthersSaid, find_others
from actions.extraction.participant import find_participant
from actions.extraction.phones import find_phone, international, other_country_reading
from actions.extraction.reader import (
    EPOCH,
    NO_CHOICES,
    Ambiguous,
    Context,
    ExtractionError,
    Finder,
    Reader,
)
from actions.extraction.times import SaidTime, find_soon, find_time
from actions.extraction.vocabulary import leftover_words
from actions.extraction.zones import (
    THEIR_ZONE,
    find_offset,
    find_zone,
    region_of_zone,
    unknown_zone,
)
from ground.channel import Channel
from ground.zones import short_zone, zone_label

SLOT_NAMES = (
    "date",
    "time",
    "phone",
    "email",
    "participant_tz",
    "invite_channel",
    "participant",
    "amount",
    "documents",
    "service",
    "payment_required",
    "others",
    *slot_table.NAMES,
)


@dataclass(frozen=True)
class Extracted:
    """What one message says. ``problems``: slot -> why its value was refused;
    ``choices``: slot -> (label, value) pairs when two readings fit; ``notes``: how a
    value was read, to say back ("4:30 PM Central is 5:30 PM your time"); ``unread``:
    the words nobody understood."""

    date: datetime.date | None = None
    time: datetime.time | None = None
    phone: str | None = None
    email: str | None = None
    participant_tz: str | None = None
    invite_channel: str | None = None
    participant: str | None = None
    amount: Decimal | None = None
    documents: str | None = None
    service: str | None = None
    payment_required: bool | None = None
    others: OthersSaid | None = None
    intent: str | None = None
    change: str | None = None
    shift: Shift | None = None
    problems: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, list[tuple[str, str]]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()
    # The slot table's slots found (actions/slot_table): slot -> value.
    table: Mapping[str, object] = field(default_factory=dict)

    def slots(self) -> dict[str, object]:
        """The slot values that were found, by slot name."""
        found = ((name, getattr(self, name, None)) for name in SLOT_NAMES)
        return {name: value for name, value in found if value is not None} | dict(self.table)

    @classmethod
    def of(cls, found: Mapping[str, object]) -> Extracted:
        """A reading from slot -> value, the slot table's slots among them; a value that
        is not what its slot holds is a finder's mistake (TypeError)."""
        unknown = found.keys() - set(SLOT_NAMES) - {"intent", "change", "shift"}
        if unknown:
            raise TypeError(f"no slot {sorted(unknown)} in a reading")
        return cls(
            date=_of(found, "date", datetime.date),
            time=_of(found, "time", datetime.time),
            phone=_of(found, "phone", str),
            email=_of(found, "email", str),
            participant_tz=_of(found, "participant_tz", str),
            invite_channel=_of(found, "invite_channel", str),
            participant=_of(found, "participant", str),
            amount=_of(found, "amount", Decimal),
            documents=_of(found, "documents", str),
            service=_of(found, "service", str),
            payment_required=_of(found, "payment_required", bool),
            others=_of(found, "others", OthersSaid),
            intent=_of(found, "intent", str),
            change=_of(found, "change", str),
            shift=_of(found, "shift", Shift),
            table={name: found[name] for name in slot_table.NAMES if name in found},
        )


T = TypeVar("T")


def _of(found: Mapping[str, object], slot: str, kind: type[T]) -> T | None:
    value = found.get(slot)
    if value is None or isinstance(value, kind):
        return value
    raise TypeError(f"a {type(value).__name__} read for {slot}")


LENGTH = "length"  # the slot table's, which a time range ("3-4:30pm") also gives

_CORE_FINDERS: tuple[tuple[str, Finder[object]], ...] = (
    ("email", find_email),
    ("phone", find_phone),
    ("payment_required", find_payment_required),
    ("amount", find_amount),
    ("shift", find_shift),
    ("change", find_change),
    ("participant_tz", find_offset),  # "UTC+05:30" before its 05:30 is read as a time
    ("soon", find_soon),
    ("time", find_time),
    ("date", find_date),
    ("participant_tz", find_zone),
    ("invite_channel", find_channel),
    ("documents", find_documents),
    ("service", find_service),
    ("intent", find_intent),
    ("others", find_others),
    ("participant", find_participant),
)


def _with_table(
    core: tuple[tuple[str, Finder[object]], ...],
) -> tuple[tuple[str, Finder[object]], ...]:
    """The finders in order, each of the slot table's just before the one it names."""
    placed: list[tuple[str, Finder[object]]] = []
    seen: set[str] = set()
    for name, finder in core:
        if name not in seen:
            placed += slot_table.finders_before(name)
            seen.add(name)
        placed.append((name, finder))
    missing = {slot.before for slot in slot_table.SLOTS} - seen
    if missing:
        raise ValueError(f"the slot table names finders that do not exist: {sorted(missing)}")
    return tuple(placed)


_FINDERS = _with_table(_CORE_FINDERS)

# What to say when the slot asked for is not in the answer, given the words left unread.
MISSING: dict[str, Callable[[str], str]] = {
    "date": lambda _: "I couldn't read that as a date; try tomorrow, Tuesday, Dec 3 or 12/3.",
    "time": lambda _: "I couldn't read that as a time; try 3pm, 9:30 am or 15:30.",
    "phone": lambda _: "I couldn't find a phone number there; try +1 617 555 0101.",
    "email": lambda _: "I couldn't find an e-mail address there; try jane@example.com.",
    "amount": lambda _: "I couldn't read that as an amount; try 120 or $120.50.",
    "invite_channel": lambda _: "Please answer email, text or none.",
    "participant_tz": lambda words: str(unknown_zone(words)),
}


_TONIGHT = re.compile(r"\btonight\b", re.IGNORECASE)
_SAID_AM = re.compile(r"\d\s*a\.?m?\b|\bmorning\b", re.IGNORECASE)


def _clock(value: datetime.time) -> str:
    return value.strftime("%-I:%M %p")


def _in_clinician_zone(
    said: SaidTime, date: datetime.date | None, ctx: Context
) -> tuple[datetime.time, datetime.date | None, str | None]:
    """A time said in another zone, as the clinician's wall time (and date, when a date was
    given and the time crosses midnight), with a note saying so."""
    mine = getattr(ctx.now.tzinfo, "key", None)
    if said.zone is None or said.zone == mine or ctx.now.tzinfo is None:
        return said.time, date, None
    day = date or ctx.today
    there = datetime.datetime.combine(day, said.time, tzinfo=ZoneInfo(said.zone))
    here = there.astimezone(ctx.now.tzinfo)
    note = f"{_clock(said.time)} {short_zone(said.zone)} is {_clock(here.time())} your time."
    return here.time(), (here.date() if date is not None else None), note


def extract(
    text: str,
    *,
    now: datetime.datetime,
    default_region: str = "US",
    packages: Mapping[str, str] = NO_CHOICES,
    services: Mapping[str, str] = NO_CHOICES,
    requested_slot: str | None = None,
    working_hours: tuple[int, int] = (8, 20),
    participant_region: str | None = None,
    participant_zone: str | None = None,
) -> Extracted:
    """Every slot value one message gives, plus intent, change request, shift, problems,
    choices to offer, notes and the words not understood."""
    ctx = Context(
        now, default_region, packages, services, requested_slot, working_hours,
        participant_region or region_of_zone(participant_zone), participant_zone,
    )  # fmt: skip
    corrected, fixes = typos.correct(spoken.written(unwrap_slack_links(text)))
    typo_notes = tuple(f"I read “{typo}” as {fix.capitalize()}." for typo, fix in fixes)
    read, _ = _read_corrected(corrected, ctx)
    return dataclasses.replace(read, notes=typo_notes + read.notes)


# "Austin, no wait, Phoenix", "at 3, sorry, 4", "text her... actually e-mail": a second
# thought inside one answer. The words after the marker are read on their own; a slot
# they give again takes their value, and both are said.
_SECOND_THOUGHT = re.compile(
    r"(?:[,;.…!]+\s*|\s+-+\s*|\s+)(?:no\s*,?\s*wait|wait\s*,?\s*no|no\s*,?\s*sorry|sorry"
    r"|i\s+mean(?:t)?|actually|make\s+that|correction|scratch\s+that|oops|or\s+rather"
    r"|(?<=[,;])\s*no(?=\s*[,;]))\b[\s,:;.…!\-]*(?=\S)",
    re.IGNORECASE,
)


def said_value(slot: str, value: object) -> str:
    """A value as the clinician would say it, for a note."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.strftime("%A, %B %-d")
    if isinstance(value, datetime.time):
        return _clock(value)
    if slot == "participant_tz":
        return zone_label(str(value))
    if slot == "invite_channel":
        return Channel.said_of(value)
    return str(value)


# A second thought is an answer's: looked for in a message of a few lines, at most this
# many times (each one reads its parts again), so a long paste still costs linear time.
SECOND_THOUGHTS_WITHIN = 400
MAX_SECOND_THOUGHTS = 3


def _read_corrected(text: str, ctx: Context, depth: int = 0) -> tuple[Extracted, str | None]:
    """The message read, a second thought inside it taking the last value."""
    if len(text) > SECOND_THOUGHTS_WITHIN or depth >= MAX_SECOND_THOUGHTS:
        return _read(text, ctx)
    marker = _SECOND_THOUGHT.search(text)
    if marker is None or not text[: marker.start()].strip():
        return _read(text, ctx)
    first, last_slot = _read(text[: marker.start()], ctx)
    if not first.slots():
        return _read(text, ctx)  # "actually make it friday": nothing said before to replace
    rest = text[marker.end() :]
    second, _ = _read_corrected(rest, dataclasses.replace(ctx, requested_slot=last_slot), depth + 1)
    if not second.slots():
        second, _ = _read_corrected(rest, ctx, depth + 1)
    replaced = {
        slot: (value, second.slots()[slot])
        for slot, value in first.slots().items()
        if slot in second.slots() and second.slots()[slot] != value
    }
    if not replaced:
        return _read(text, ctx)
    found: dict[str, object] = {**first.slots(), **second.slots()}
    problems = {k: v for k, v in first.problems.items() if k not in second.slots()}
    problems.update(second.problems)
    choices = {k: v for k, v in first.choices.items() if k not in second.slots()}
    choices.update(second.choices)
    notes = [
        f"You said {said_value(slot, old)}, then {said_value(slot, new)}: "
        f"I took {said_value(slot, new)}."
        for slot, (old, new) in replaced.items()
    ]
    merged = dataclasses.replace(
        Extracted.of(found),
        intent=second.intent or first.intent,
        change=second.change or first.change,
        shift=second.shift or first.shift,
        problems=problems,
        choices=choices,
        notes=(*first.notes, *notes, *second.notes),
        unread=(*first.unread, *second.unread),
    )
    return merged, last_slot


def _read(corrected: str, ctx: Context) -> tuple[Extracted, str | None]:
    """One reading of the (written, corrected) text, and the slot of its last span."""
    requested_slot = ctx.requested_slot
    reader = Reader(corrected)
    found: dict[str, object] = {}
    problems: dict[str, str] = {}
    choices: dict[str, list[tuple[str, str]]] = {}
    notes: list[str] = []
    for slot, finder in _FINDERS:
        try:
            value = finder(reader, ctx)
        except Ambiguous as err:
            problems[err.slot] = str(err)
            choices[err.slot] = err.choices
            continue
        except ExtractionError as err:
            problems["time" if slot == "soon" else slot] = str(err)
            continue
        if value is not None:
            found[slot] = value
        if slot == "change" and isinstance(value, str) and value in SLOT_NAMES:
            # "change the time to 11": what follows answers that slot, as if it was asked
            # (a bare "11" is a time, a lower-case "jd" a name).
            ctx = dataclasses.replace(ctx, requested_slot=value)
    soon = found.pop("soon", None)
    if isinstance(soon, datetime.datetime):  # "in 45 minutes": the time and the date it falls on
        found.setdefault("time", SaidTime(soon.time()))
        found.setdefault("date", DateChoice(soon.date()))
    _phone_in_their_country(corrected, found, problems, ctx)
    _phone_of_another_country(corrected, found, choices, notes, ctx)
    told = found.pop("time", None)
    said = told if isinstance(told, SaidTime) else None
    if said is not None and said.zone == THEIR_ZONE:
        theirs = found.get("participant_tz")
        if not isinstance(theirs, str):
            said = None
            problems["time"] = (
                "I don't know the participant's time zone yet, so I can't place that time: "
                "say where they are, or give the time with its zone, like “10am London”."
            )
        else:
            said = SaidTime(said.time, theirs)
    chosen = found.pop("date", None)
    picked = chosen if isinstance(chosen, DateChoice) else None
    date = picked.date if picked else None
    if picked and picked.other and "date" not in problems:
        choices["date"] = [(picked.other.strftime("%A, %B %-d"), picked.other.isoformat())]
        notes.append(
            f"I took {picked.date.strftime('%A, %B %-d')}; "
            f"if you meant {picked.other.strftime('%A, %B %-d')}, say so."
        )
    evening = _TONIGHT.search(corrected) and not _SAID_AM.search(corrected)
    if said is not None and said.time.hour < 12 and evening:  # "tonight at 8" is 8 PM
        said = dataclasses.replace(said, time=said.time.replace(hour=said.time.hour + 12))
    if said is not None:
        if said.until is not None:  # "3-4:30pm": the start, and the length it gives
            start, end = (t.hour * 60 + t.minute for t in (said.time, said.until))
            if LENGTH in found:
                notes.append(
                    f"I took {_clock(said.time)}, the start of {_clock(said.time)}–"
                    f"{_clock(said.until)}, for the length you said."
                )
            elif LENGTH in SLOT_NAMES:
                found[LENGTH] = (end - start) % (24 * 60)  # its own slot says it back
        time, date, note = _in_clinician_zone(said, date, ctx)
        found["time"] = time
        if note:
            notes.append(note)
        if said.zone and not said.mine:
            found.setdefault("participant_tz", said.zone)
    if date is not None:
        found["date"] = date
    left = leftover_words(reader.rest)
    if requested_slot in MISSING and left and not found.keys() - {"participant"} and not problems:
        found.pop("participant", None)
        problems[requested_slot] = MISSING[requested_slot](" ".join(left))
        left = []
    spans = [(start, slot) for start, _, slot in reader.claims if slot in SLOT_NAMES]
    last_slot = max(spans)[1] if spans else None
    read = dataclasses.replace(
        Extracted.of(found),
        problems=problems,
        choices=choices,
        notes=tuple(notes),
        unread=tuple(left),
    )
    return read, last_slot


def _zone(found: Mapping[str, object]) -> str | None:
    """The participant's zone this message gave, if any."""
    zone = found.get("participant_tz")
    return zone if isinstance(zone, str) else None


def _phone_in_their_country(
    text: str, found: dict[str, object], problems: dict[str, str], ctx: Context
) -> None:
    """A national number refused in the practice's country may be the participant's own,
    when the same message says where they are ("in London, text 07700 900123")."""
    region = region_of_zone(_zone(found))
    if "phone" not in problems or region is None or region == ctx.participant_region:
        return
    try:
        phone = find_phone(Reader(text), dataclasses.replace(ctx, participant_region=region))
    except ExtractionError:
        return
    if phone:
        found["phone"] = phone
        del problems["phone"]


def _phone_of_another_country(
    text: str,
    found: dict[str, object],
    choices: dict[str, list[tuple[str, str]]],
    notes: list[str],
    ctx: Context,
) -> None:
    """A number typed without its country code that is valid in both the practice's country
    and the participant's is taken in one and the other is offered, in words and a button."""
    phone = found.get("phone")
    theirs = region_of_zone(_zone(found)) or ctx.participant_region
    if not isinstance(phone, str) or not phone or not theirs or "phone" in choices:
        return
    regions = list(dict.fromkeys([theirs.upper(), ctx.default_region.upper()]))
    if len(regions) < 2:
        return
    other = other_country_reading(text, phone, regions)
    if other is None:
        return
    typed, alternative = other
    choices["phone"] = [(international(alternative), alternative)]
    notes.append(
        f"I read {typed} as {international(phone)}; "
        f"if you meant {international(alternative)}, say so."
    )


def _parse_one(slot: str, finder: Finder[T], text: str, ctx: Context) -> T:
    value = finder(Reader(spoken.written(unwrap_slack_links(text))), ctx)
    if value is None:
        raise ExtractionError(MISSING[slot](text))
    return value


def parse_date(text: str, now: datetime.datetime) -> datetime.date:
    """The date a clinician means, in their wall time; past dates are the caller's concern."""
    corrected, _ = typos.correct(text)
    choice = _parse_one("date", find_date, corrected, Context(now=now, requested_slot="date"))
    return choice.date


def parse_time(text: str) -> datetime.time:
    """A time of day; bare hours outside working hours are the afternoon ("3" is 15:00)."""
    said = _parse_one("time", find_time, text, Context(now=EPOCH, requested_slot="time"))
    return said.time


def parse_email(text: str) -> str:
    """An e-mail address, normalized by email-validator."""
    return _parse_one("email", find_email, text, Context(now=EPOCH, requested_slot="email"))


def parse_amount(text: str) -> Decimal:
    """A positive amount quantized to cents; the practice maximum is the caller's concern."""
    return _parse_one("amount", find_amount, text, Context(now=EPOCH, requested_slot="amount"))


def parse_channel(text: str) -> str:
    """How the participant is invited: a `Channel` (e-mail, text message or none)."""
    return _parse_one(
        "invite_channel", find_channel, text, Context(now=EPOCH, requested_slot="invite_channel")
    )
