"""The other participants of a couples or family session, where plainly meant: more
names after the participant's ("with JD and MK", "with JD, MK and AL"), a name added
("add her partner Sam", "also invite the mother, AL", "add participant LR") or taken
off ("remove MK", "take MK off"). Names after "add" or "remove" are capitalised or
initials, so a lower-case word there ("add payment") is never taken for a name; after
"with" the names are a list in any case ("with jd and mk", as clinicians type).

The value: {"add": [names], "remove": [names]}; the first participant's name is left
for `find_participant`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from actions.extraction.participant import _name_at, _plausible, parse_participant
from actions.extraction.reader import Context, Reader

RELATIONS = (
    r"partner|husband|wife|spouse|mother|father|mom|mum|dad|son|daughter|sister|brother"
    r"|child|kid|parent|guardian|boyfriend|girlfriend|fianc[eé]e?|grandmother|grandfather"
)
_WHO = (
    rf"(?:(?:her|his|their|the|a|my)\s+)?(?:(?:{RELATIONS})\s*,?\s+)?(?:(?:participant|person)\s+)?"
)
_ADD = re.compile(
    rf"\b(?:also\s+invite|invite|also\s+add|add)\s+{_WHO}(?=\S)",
    re.IGNORECASE,
)
_REMOVE = re.compile(
    rf"\b(?:remove|drop|take\s+off|uninvite)\s+{_WHO}(?=\S)",
    re.IGNORECASE,
)
_TAKE_OFF = re.compile(r"\btake\s+(?=\S)", re.IGNORECASE)
_OFF = re.compile(r"\s+off\b", re.IGNORECASE)
_WITH = re.compile(r"\b(?:with|w/|for|see|seeing)\s+(?=\S)", re.IGNORECASE)
_AND = re.compile(rf"(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*){_WHO}(?=\S)", re.IGNORECASE)


def _name(rest: str, start: int, *, any_case: bool = False) -> tuple[str, int, int] | None:
    found = _name_at(rest, start, any_case=any_case)
    if found is None or not _plausible(found[0], strong=any_case):
        return None
    return parse_participant(found[0]), found[1], found[2]


@dataclass(frozen=True)
class OthersSaid:
    """The other participants a message adds and takes off, by name."""

    add: tuple[str, ...]
    remove: tuple[str, ...]


def find_others(reader: Reader, ctx: Context) -> OthersSaid | None:
    rest = reader.rest
    added: list[str] = []
    removed: list[str] = []
    spans: list[tuple[int, int]] = []
    for pattern, into in ((_REMOVE, removed), (_ADD, added)):
        for match in pattern.finditer(rest):
            if any(a <= match.start() < b for a, b in spans):
                continue
            found = _name(rest, match.end())
            if found is None:
                continue
            into.append(found[0])
            spans.append((match.start(), found[2]))
            end = found[2]
            while (more := _AND.match(rest, end)) and (found := _name(rest, more.end())):
                into.append(found[0])
                spans.append((end, found[2]))
                end = found[2]
    # "take MK off"
    for match in _TAKE_OFF.finditer(rest):
        found = _name(rest, match.end())
        off = _OFF.match(rest, found[2]) if found else None
        if found and off:
            removed.append(found[0])
            spans.append((match.start(), off.end()))
    # "with JD and MK": the names after the first are the others (the first is the
    # participant's, read by `find_participant`).
    if not added and not removed:
        for match in _WITH.finditer(rest):
            first = _name_at(rest, match.end(), any_case=True)
            if first is None:
                continue
            end = first[2]
            # Plainly a list of people after "with": each name in any case ("with jd and mk").
            while (more := _AND.match(rest, end)) and (
                found := _name(rest, more.end(), any_case=True)
            ):
                added.append(found[0])
                spans.append((end, found[2]))
                end = found[2]
            if added:
                break
    if not spans:
        return None
    reader.cut_many(spans, "others")
    return OthersSaid(add=tuple(added), remove=tuple(removed))
