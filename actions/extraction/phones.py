"""Phone numbers: phonenumbers' own matcher first, in the practice's region and then in the
participant's, so national formats and trunk prefixes ("+49 (0)151 2345 6789") are read as
phonenumbers reads them; stored E.164.

What the matcher refuses but looks like a phone number (a "+", brackets, seven digits or a
dashed run) is still looked at, so the clinician hears why ("too short") rather than nothing.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from actions.extraction.reader import EPOCH, Context, ExtractionError, Reader

# Digit groups joined by spaces, dots, dashes or brackets, taken possessively (no
# backtracking) so a long run of figures is one candidate scanned once; the character
# after the run is checked in code, not by a lookahead that could make the engine retry.
CANDIDATE = re.compile(r"(?<![\w$€£/.:+\-])(?:\+\s?)?\(?\d+\)?(?:[ .\-]{1,2}\(?\d+\)?)*+")
_GROUP = re.compile(r"\+?\s?\(?\d+\)?")
_NOT_A_PHONE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-.]\d{1,2}[-.]\d{2,4}|\d+\.\d{1,2}")
_FOLLOWED_BADLY = re.compile(r"[\w/:%$]|[.,]\d")
MAX_GROUPS = 8  # a phone number has at most this many digit groups; bounds the search


def example_phone(region: str) -> str:
    if region.upper() == "US":
        return "+1 617 555 0101"
    example = phonenumbers.example_number(region.upper())
    if example is None:
        return "+1 617 555 0101"
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def valid_phone(text: str, region: str) -> str | None:
    # phonenumbers' metadata counts the fictional 555-01xx numbers (+1 617 555 0101) as valid,
    # so is_valid_number is enough and still rejects numbers with impossible area codes.
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_problem(text: str, region: str) -> ExtractionError:
    example = example_phone(region)
    reasons = phonenumbers.ValidationResult
    try:
        reason = phonenumbers.is_possible_number_with_reason(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException as err:
        short = err.error_type in (
            phonenumbers.NumberParseException.TOO_SHORT_NSN,
            phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD,
        )
        reason = reasons.TOO_SHORT if short else reasons.INVALID_LENGTH
    if reason == reasons.INVALID_COUNTRY_CODE:
        return ExtractionError(f"I don't recognize that country code; try {example}.")
    if reason in (reasons.TOO_SHORT, reasons.INVALID_LENGTH) and digit_count(text) < 8:
        return ExtractionError(f"That phone number looks too short; try {example}.")
    if reason == reasons.TOO_LONG:
        return ExtractionError(f"That phone number looks too long; try {example}.")
    return ExtractionError(f"That doesn't look like a working phone number; try {example}.")


def digit_count(text: str) -> int:
    return sum(char.isdigit() for char in text)


def _looks_like_phone(text: str) -> bool:
    if _NOT_A_PHONE.fullmatch(text):
        return False
    digits = digit_count(text)
    separated = digits >= 5 and ("-" in text or "." in text)
    return "+" in text or "(" in text or digits >= 7 or separated


def regions(ctx: Context) -> list[str]:
    """The participant's country when their zone says one, then the practice's: a number
    without a country code is most likely in the country the participant is in."""
    found = [ctx.participant_region.upper()] if ctx.participant_region else []
    if ctx.default_region.upper() not in found:
        found.append(ctx.default_region.upper())
    return found


MATCHER_TRIES = 40


def _matched(reader: Reader, ctx: Context) -> str | None:
    """Numbers phonenumbers' matcher finds; the first not negated ("not 555...") wins."""
    found: list[tuple[bool, str]] = []
    for region in regions(ctx):
        spans = []
        # At most MATCHER_TRIES candidates: a message of digit groups ("1 - 1 - 1 ...")
        # costs phonenumbers a parse per group, and no message holds dozens of numbers.
        matcher = PhoneNumberMatcher(
            reader.rest, region, leniency=Leniency.VALID, max_tries=MATCHER_TRIES
        )
        for match in matcher:
            number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            found.append((reader.negated_at(match.start), number))
            spans.append((match.start, match.end))
        reader.cut_many(spans, "phone")
    preferred = [number for negated, number in found if not negated]
    chosen = preferred or [number for _, number in found]
    return chosen[0] if chosen else None


def find_phone(reader: Reader, ctx: Context) -> str | None:
    if "+" not in reader.rest and digit_count(reader.rest) < 4:
        return None  # no phone number has fewer figures; skips the matcher's work
    phone = _matched(reader, ctx)
    if phone:
        return phone
    problem: ExtractionError | None = None
    refused: list[tuple[int, int]] = []
    for candidate in list(CANDIDATE.finditer(reader.rest)):
        text = candidate.group()
        follow = reader.rest[candidate.end() : candidate.end() + 2]
        if _FOLLOWED_BADLY.match(follow) or not _looks_like_phone(text):
            continue
        span = _longest_valid_run(candidate, regions(ctx))
        if span is None:
            problem = problem or phone_problem(text, ctx.default_region)
            refused.append(candidate.span())
            continue
        phone, start, end = span
        reader.cut_many([*refused, (start, end)], "phone")
        return phone
    reader.cut_many(refused, "phone")
    if problem:
        raise problem
    return None


def _longest_valid_run(candidate: re.Match[str], regions: list[str]) -> tuple[str, int, int] | None:
    """The longest run of at most MAX_GROUPS of the candidate's digit groups that is a
    valid number, so a number that runs into a neighbouring figure ("+1 617 555 0101 15")
    is still found; bounded, so a run of a thousand figures costs a thousand tries."""
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(candidate.group())]
    if len(groups) > 2 * MAX_GROUPS:
        return None  # a list of figures, not a phone number running into one
    text, offset = candidate.group(), candidate.start()
    for length in range(min(len(groups), MAX_GROUPS), 0, -1):
        for first in range(len(groups) - length + 1):
            start, end = groups[first][0], groups[first + length - 1][1]
            piece = text[start:end]
            if digit_count(piece) < 7:
                continue
            for region in regions:
                phone = valid_phone(piece, region)
                if phone:
                    return phone, offset + start, offset + end
    return None


def parse_phone(
    text: str, default_region: str = "US", participant_region: str | None = None
) -> str:
    """A phone number in E.164 form, read in default_region (then participant_region) when
    it has no country code."""
    ctx = Context(
        now=EPOCH,
        default_region=default_region,
        requested_slot="phone",
        participant_region=participant_region,
    )
    phone = find_phone(Reader(text), ctx)
    if phone is None:
        for region in regions(ctx):
            phone = valid_phone(text, region)
            if phone:
                return phone
        if digit_count(text) >= 3:
            raise phone_problem(text, default_region)
        raise ExtractionError("I couldn't find a phone number there; try +1 617 555 0101.")
    return phone


def other_country_reading(text: str, phone: str, regions: list[str]) -> tuple[str, str] | None:
    """When the number typed without a country code (`phone` as read) is also a valid number
    in the other region that could be meant (the practice's or the participant's country),
    that reading: (the digits as typed, E.164). "617 555 0102" for a participant in India
    is +91 61755 50102 or +1 617-555-0102: a close call, offered, not settled silently."""
    taken = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
    if taken is None:
        return None
    for region in regions:
        if region == taken:
            continue
        matcher = PhoneNumberMatcher(text, region, leniency=Leniency.VALID, max_tries=MATCHER_TRIES)
        for match in matcher:
            if match.raw_string.lstrip().startswith(("+", "00")):
                continue  # a country code was given: nothing to choose
            other = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            same_typed = valid_phone(match.raw_string, taken) == phone
            if other != phone and same_typed:
                return match.raw_string.strip(), other
    return None


def international(phone: str) -> str:
    """+16175550102 as +1 617-555-0102, as the summary shows a number."""
    number = phonenumbers.parse(phone)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
