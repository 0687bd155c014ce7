"""The rule of each answer, in one place: the form's validation applies it as the
clinician answers, and Save applies it again to everything it is about to store.

Save cannot trust that validation ran: over a Rasa assistant the tracker comes from
outside (`sessionbot actions`), and a tracker posted by hand could carry any slot value.
So what Save stores passes the very rules the conversation uses: the same parsers
(`actions.extraction`), the same zone check, the same amount rule as the Edit form
(`editing.amount_problem`) and the one rule for a new start (`starts.check_start`).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from actions import extraction
from ground.channel import Channel
from ground.practice import Practice
from ground.session import SessionSpec
from scheduling import editing, starts

MAX_DAYS_AHEAD = 366 * 2  # as the date question: "more than two years ahead"


def zone_problem(value: object) -> str | None:
    """Why `value` is not an IANA zone name, or None."""
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return (
            f"I don't know the time zone “{value}”. Try “Eastern”, “London” or “America/Chicago”."
        )
    return None


def _same_after_parsing(parse: object, value: str) -> str | None:
    """Why `value` is not what the parser makes of it (a value the conversation stored
    is its parser's own output, so it reads back unchanged), or None."""
    try:
        parsed = parse(value)  # type: ignore[operator]
    except extraction.ExtractionError as exc:
        return str(exc)
    return None if parsed == value else "That isn't a value I can use as it is."


def saved_draft_problem(
    draft: SessionSpec, clinician_tz: str, practice: Practice, now: datetime, *, payments: bool
) -> tuple[str, str] | None:
    """The first answer of `draft` that the conversation would refuse, as (slot, why);
    None when Save may store it."""
    problem = _same_after_parsing(extraction.parse_participant, draft.lead.name)
    if problem:
        return "participant", problem
    channel = Channel.invitation(draft.lead.channel)
    address = channel.address if channel is not None else None
    if address == "email":
        problem = _same_after_parsing(extraction.parse_email, draft.lead.email or "")
        if problem:
            return "email", problem
    if address == "phone":
        region = practice.default_region
        theirs = extraction.region_of_zone(draft.lead.tz)
        problem = _same_after_parsing(
            lambda text: extraction.parse_phone(text, region, theirs), draft.lead.phone or ""
        )
        if problem:
            return "phone", problem
    for slot, zone in (("participant_tz", draft.lead.tz), ("clinician_tz", clinician_tz)):
        problem = zone_problem(zone)
        if problem:
            return slot, problem
    if draft.documents is not None and practice.package(draft.documents) is None:
        return "documents", "That isn't one of this practice's document packages."
    if draft.service is not None or draft.price is not None:
        if not payments or practice.service(draft.service) is None:
            return "service", "That isn't one of this practice's services."
        if draft.price is None:
            return "amount", "The amount is missing."
        problem = editing.amount_problem(draft.price.amount, practice)
        if problem:
            return "amount", problem
    # The wall time as given, in the clinician's zone (the draft's start is made so).
    day, at = draft.start.date(), draft.start.time()
    check = starts.check_start(day, at.hour, at.minute, clinician_tz, now)
    if check.start is None:
        return check.field, check.problem or "That time has passed: pick a later time."
    if (day - now.astimezone(ZoneInfo(clinician_tz)).date()).days > MAX_DAYS_AHEAD:
        return "date", "That's more than two years ahead. Pick a nearer date."
    return None
