"""The one-screen Edit form's fields, as typed or picked, read by the conversation's own
rules (the same parsers as a message) into the scheduling rules' `EditForm`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from actions import extraction
from actions.slot_table import length as lengths
from dialogue.slots import SlotValueError, read_date, read_time
from ground.channel import Channel
from ground.language import normalize
from ground.practice import Practice
from scheduling.editing import DEFAULT_LANGUAGE, KEEP_LANGUAGE, EditForm, amount_problem
from scheduling.starts import check_start

T = TypeVar("T")


def read_edit(
    raw: dict[str, str | None],
    tz: str,
    now: datetime,
    practice: Practice,
    *,
    current_start: datetime | None = None,
) -> tuple[EditForm | None, dict[str, str]]:
    """The form's fields (strings, as typed or picked) checked by the conversation's own
    rules, or the problem of each field by name (nothing is half-taken)."""
    problems: dict[str, str] = {}

    def text(name: str) -> str:
        return (raw.get(name) or "").strip()

    start: datetime | None = None
    note = None
    try:
        day, at = read_date(text("date")), read_time(text("time"))
        hour, minute = at.hour, at.minute
        wall = datetime.combine(day, at, tzinfo=ZoneInfo(tz))
    except SlotValueError:
        problems["date"] = "Pick a date and a time."
    else:
        unchanged = current_start is not None and wall.astimezone(UTC) == current_start
        if unchanged:
            start = current_start
        else:
            check = check_start(day, hour, minute, tz, now, practice)
            if check.start is None:
                problems[check.field] = check.problem or "Pick another time."
            start, note = check.start, check.note
    participant = _parsed(problems, "participant", extraction.parse_participant, text)
    channel = Channel.invitation(text("invite_channel"))
    if channel is None:
        problems["invite_channel"] = "Pick how the participant is invited."
    email = phone = None
    if (channel is not None and channel.address == "email") or text("email"):
        email = _parsed(problems, "email", extraction.parse_email, text)
    if (channel is not None and channel.address == "phone") or text("phone"):
        phone = _parsed(
            problems,
            "phone",
            lambda value: extraction.parse_phone(value, practice.default_region),
            text,
        )
    zone = _parsed(problems, "participant_tz", extraction.parse_zone, text)
    documents = text("documents") or "none"
    if documents != "none" and practice.package(documents) is None:
        problems["documents"] = "Pick one of the practice's document packages, or none."
    service = text("service") or "none"
    amount = None
    if service != "none":
        if practice.service(service) is None:
            problems["service"] = "Pick one of the practice's services, or no payment."
        elif not text("amount"):
            problems["amount"] = "Give the amount to charge, like 120."
        else:
            amount = _parsed(problems, "amount", extraction.parse_amount, text)
            said = amount_problem(amount, practice) if amount is not None else None
            if said:
                problems["amount"] = said
    length = None
    if text("length"):
        try:
            length = int(text("length"))
        except ValueError:
            problems["length"] = "Give the length in whole minutes, like 50."
        else:
            if said := lengths.SLOT.refuse(length, practice):
                problems["length"] = said
    language = text("language") or KEEP_LANGUAGE
    if language not in (KEEP_LANGUAGE, DEFAULT_LANGUAGE) and normalize(language) != language:
        problems["language"] = "Pick one of the offered languages."
    if problems:
        return None, problems
    assert start is not None and participant is not None and zone is not None
    assert channel is not None
    return (
        EditForm(
            start=start,
            participant=participant,
            invite_channel=channel,
            email=email if channel.address == "email" else None,
            phone=phone if channel.address == "phone" else None,
            participant_tz=zone,
            documents=None if documents == "none" else documents,
            service=None if service == "none" else service,
            amount=amount,
            note=note,
            language=language,
            duration_min=length,
        ),
        {},
    )


def _parsed(
    problems: dict[str, str], name: str, parse: Callable[[str], T], text: Callable[[str], str]
) -> T | None:
    value = text(name)
    if not value:
        problems[name] = "This is needed."
        return None
    try:
        return parse(value)
    except extraction.ExtractionError as exc:
        problems[name] = str(exc)
        return None
