"""The clinician's week in the conversation's words: series, "same time next week", the agenda.

`read` wraps the slot extraction of one message: a repeating part ("every Tuesday for 6
weeks") is read by `recurrence.parse_recurrence` and blanked before the slots are read, so
its words are neither unread nor taken for a date ("until March 1") while the rest ("JD at
10am") fills the slots as usual; "just once" drops a series. "same time next week" and
"send me my agenda at 7:30" are whole requests of their own, given as an intent with their
value. Both the embedded runner's NLU and the Rasa path of the form read messages here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from actions.extraction import Extracted
from actions.extraction.hours import hours_request
from actions.extraction.intents import refusal
from dialogue.slots import decode, encode
from dialogue.turn_io import Entity
from ground.jsontypes import JSON
from scheduling import agendas, recurrence

# "just once", "no repeat": the draft is one session after all.
_ONCE = re.compile(
    r"\b(?:just|only)\s+once\b|\bno\s+repeats?\b|\bdon'?t\s+repeat\b|\bnot\s+a\s+series\b"
    r"|\bno\s+series\b|\bone[- ]off\b",
    re.IGNORECASE,
)
ONCE = "once"
WEEKDAY_NAMES = [name.capitalize() for name in recurrence.WEEKDAYS]
MAX_INTERVAL = 9  # "every 9 weeks" is the sparsest series `parse_recurrence` reads


@dataclass(frozen=True)
class Heard(Extracted):
    """A message's slots, plus the series it asks for (`ONCE`: none after all) and the
    value of a week request (`weeks` for Schedule Next, `agenda` 'HH:MM' or 'off')."""

    series: dict[str, JSON] | str | None = None
    weeks: int | None = None
    agenda: str | None = None
    hours: str | None = None  # "my hours are 9 to 5 mon-thu": the hours as said

    def found(self) -> dict[str, JSON]:
        """The reading as the form takes it, each value as a tracker keeps it (JSON): the
        slots found, a refused one as {"invalid": why}, and what goes with them (the
        slot to change, a shift, notes, unread words, readings to choose from, a series,
        a week request)."""
        found: dict[str, JSON] = {k: encode(v) for k, v in self.slots().items()}
        found.update({k: {"invalid": why} for k, why in dict(self.problems).items()})
        for name in ("series", "weeks", "agenda", "hours", "shift", "notes", "unread"):
            value = getattr(self, name)
            if value:
                found[name] = encode(value)
        if self.change:
            found["slot"] = self.change
        choices: list[JSON] = [
            {"slot": k, "choices": encode(c)} for k, c in dict(self.choices).items()
        ]
        if choices:
            found["choices"] = choices
        return found

    def entities(self) -> list[Entity]:
        """The reading as the entities of Rasa's parse data (what the embedded runner's
        NLU hands a turn); `found_in` reads them back."""
        entities: list[Entity] = []
        for name, value in self.found().items():
            if name == "choices" and isinstance(value, list):
                entities += [{"entity": "choices", "value": entry} for entry in value]
            elif isinstance(value, dict) and "invalid" in value:
                entities.append({"entity": name, "value": None, "error": str(value["invalid"])})
            else:
                entities.append({"entity": name, "value": value})
        return entities


def found_in(entities: Sequence[object]) -> dict[str, JSON]:
    """A reading back from its entities (`Heard.entities`, or a button's payload)."""
    found: dict[str, JSON] = {}
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        name = entity.get("entity")
        if not isinstance(name, str):
            continue
        if entity.get("error"):
            found[name] = {"invalid": entity["error"]}
        elif name == "choices":
            listed = found.setdefault("choices", [])
            if isinstance(listed, list):
                listed.append(entity.get("value"))
        elif name not in found:
            found[name] = entity.get("value")
    return found


def series_value(found: recurrence.Recurrence) -> dict[str, JSON]:
    """A recurrence as the series slot holds it (without the spans it was read from)."""
    return {
        "interval": found.interval,
        "weekday": found.weekday,
        "count": found.count,
        "until": encode(found.until),
    }


def series_of(value: object) -> recurrence.Recurrence | None:
    """The slot's value back as a recurrence; None for anything else."""
    if not isinstance(value, dict):
        return None
    try:
        until = value.get("until")
        found = recurrence.Recurrence(
            interval=int(1 if value.get("interval") is None else value["interval"]),
            weekday=None if value.get("weekday") is None else int(value["weekday"]),
            count=None if value.get("count") is None else int(value["count"]),
            until=decode("date", until) if until else None,
        )
    except (TypeError, ValueError, OverflowError):
        return None
    # A slot can be set by a button payload too: only what a clinician could have said.
    if not 1 <= found.interval <= MAX_INTERVAL or found.weekday not in (None, *range(7)):
        return None
    return found


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def read(text: str, now: datetime, extract: Callable[[str], Extracted]) -> Heard:
    """One message: a week request, or the slots with any series (see the module)."""
    if refusal(text) is None:  # "don't book the same time next week" asks for nothing
        weeks = recurrence.next_week_shift(text)
        if weeks is not None:
            return Heard(intent="schedule_next", weeks=weeks)
        agenda = agendas.agenda_request(text)
        if agenda is not None:
            return Heard(intent="set_agenda", agenda=agenda)
        hours = hours_request(text)
        if hours is not None:
            return Heard(intent="set_hours", hours=hours)
    once = list(_ONCE.finditer(text))
    found = recurrence.parse_recurrence(text, now.date())
    spans = [m.span() for m in once] + list(found.spans if found else ())
    base = extract(_blank(text, spans) if spans else text)
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(Extracted)}
    if found is None:
        return Heard(**fields, series=ONCE if once else None)
    if found.weekday is not None:
        # "every Tuesday at 10am": the next Tuesday is the first session (after today, as
        # "Tuesday" alone is read on a Tuesday); "from Dec 3, every Friday": the first
        # Friday from then. The date slot says it, so the summary's first line is the
        # series' first session.
        start = base.date or now.date() + timedelta(days=1)
        fields["date"] = first = recurrence.first_day(found, start)
        if base.date is not None and first != base.date:
            said = f"{WEEKDAY_NAMES[found.weekday]}s, so it starts {first:%A, %B} {first.day}"
            fields["notes"] = (*base.notes, f"The series is on {said}, not {base.date:%A}.")
    if fields.get("intent") in ("deny", "affirm"):
        fields["intent"] = None  # "no", "ok" inside a series are not answers to the summary
    return Heard(**fields, series=series_value(found))
