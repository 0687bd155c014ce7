"""The reader: a message as spans, each claimed by at most one slot, and what is left.

Every finder takes spans out of ``Reader.rest``; a taken span is blanked with spaces of the
same length, so offsets stay those of the message, a later finder can never read it again,
and what nobody claimed is what the clinician is told was not understood.

Every pattern used here must be linear in the text: no nested quantifiers that can
backtrack over the whole message (hostile input, issue #8). Where a pattern needs a
lookbehind it is a fixed-width one; repetition is bounded (``{0,3}``) wherever a group may
match the empty string.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeAlias, TypeVar

NO_CHOICES: Mapping[str, str] = MappingProxyType({})
EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


class ExtractionError(ValueError):
    """A value that looked like a slot answer but is not valid; str(err) is one friendly
    sentence for the clinician."""


@dataclass(frozen=True)
class Context:
    """What a reading depends on besides the text: now (aware, the clinician's zone), the
    practice's region, packages, services and working hours, and the slot asked for."""

    now: datetime.datetime
    default_region: str = "US"
    packages: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, str] = field(default_factory=dict)
    requested_slot: str | None = None
    working_hours: tuple[int, int] = (8, 20)
    participant_region: str | None = None
    participant_zone: str | None = None  # the draft's, for "10am her time"

    @property
    def today(self) -> datetime.date:
        return self.now.date()

    @property
    def day_first(self) -> bool:
        return self.default_region.upper() not in ("US", "CA")


# "not", "instead of", "rather than" just before a value: the value being replaced.
_NEGATION = re.compile(r"(?:instead\s+of|rather\s+than|\bnot|\bno\s+longer)\s*$", re.IGNORECASE)
_NEGATION_WINDOW = 24  # characters looked back for a negation; keeps the check O(1) a match


class Reader:
    """The text still unread; taking a span blanks it (same length, offsets kept)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.rest = text
        self.claims: list[tuple[int, int, str]] = []

    def take_all(
        self, pattern: re.Pattern[str], slot: str = ""
    ) -> list[tuple[re.Match[str], bool]]:
        """Every match of pattern, each with whether it was negated ("instead of 3pm")."""
        matches = list(pattern.finditer(self.rest))
        taken = []
        for match in matches:
            before = self.rest[max(0, match.start() - _NEGATION_WINDOW) : match.start()]
            taken.append((match, bool(_NEGATION.search(before))))
        self.cut_many([match.span() for match in matches], slot)
        return taken

    def cut(self, start: int, end: int, slot: str = "") -> None:
        self.cut_many([(start, end)], slot)

    def cut_many(self, spans: list[tuple[int, int]], slot: str = "") -> None:
        """Blank these spans in one pass over the text (cutting one at a time would copy
        the message once a span: quadratic in a message of many matches)."""
        spans = sorted((start, end) for start, end in spans if end > start)
        if not spans:
            return
        pieces, last = [], 0
        for start, end in spans:
            start = max(start, last)
            if end <= start:
                continue
            pieces += [self.rest[last:start], " " * (end - start)]
            last = end
            self.claims.append((start, end, slot))
        pieces.append(self.rest[last:])
        self.rest = "".join(pieces)

    def clear(self, slot: str = "") -> None:
        for match in re.finditer(r"\S+", self.rest):
            self.claims.append((match.start(), match.end(), slot))
        self.rest = " " * len(self.rest)

    def negated_at(self, start: int) -> bool:
        return bool(_NEGATION.search(self.text[max(0, start - _NEGATION_WINDOW) : start]))


T = TypeVar("T")

# A match read as a slot's value (None: these words are not one after all).
Converter: TypeAlias = Callable[[re.Match[str], Context], T | None]
Rule: TypeAlias = tuple[re.Pattern[str], Converter[T]]


def read_rules(reader: Reader, rules: Iterable[Rule[T]], ctx: Context, slot: str = "") -> T | None:
    """Take every span the rules match; the first valid, non-negated value wins, else the
    first error is raised."""
    preferred = read_all_rules(reader, rules, ctx, slot)
    return preferred[0] if preferred else None


def read_all_rules(
    reader: Reader, rules: Iterable[Rule[T]], ctx: Context, slot: str = ""
) -> list[T]:
    """As `read_rules`, every valid value, the non-negated ones (else all) in rule order."""
    values: list[tuple[int, bool, T]] = []
    errors: list[ExtractionError] = []
    for pattern, convert in rules:
        for match, negated in reader.take_all(pattern, slot):
            try:
                value = convert(match, ctx)
            except ExtractionError as err:
                errors.append(err)
                continue
            if value is not None:
                values.append((match.start(), negated, value))
    preferred = [v for _, negated, v in values if not negated] or [v for _, _, v in values]
    if preferred:
        return preferred
    if errors:
        raise errors[0]
    return []


def constant(value: T) -> Converter[T]:
    return lambda _match, _ctx: value


def words(*alternatives: str) -> str:
    """A regex alternation, longest first, so "time zone" wins over "time"."""
    return "|".join(sorted(alternatives, key=len, reverse=True))


# Reads a slot's value out of a message, claiming its words; None: not said.
Finder: TypeAlias = Callable[[Reader, Context], T | None]


def rules_finder(
    rules: tuple[Rule[T], ...], answer_rules: tuple[Rule[T], ...], slot: str
) -> Finder[T]:
    """A finder over rules, widened to bare answers ("15", "3") when the slot was asked for."""

    def find(reader: Reader, ctx: Context) -> T | None:
        chosen = answer_rules if ctx.requested_slot == slot else rules
        return read_rules(reader, chosen, ctx, slot)

    return find


class Ambiguous(ExtractionError):
    """Two readings fit; ``choices`` are (label, value) pairs to offer as buttons."""

    def __init__(self, message: str, slot: str, choices: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.slot = slot
        self.choices = choices
