"""How times, zones, phones and amounts are written for people."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers

# One zone vocabulary for reading, showing and saying zones: it lives with the extraction.
from actions.extraction.zones import generic_abbreviation, short_zone, zone_label

__all__ = [
    "cents", "clock", "generic_abbreviation", "initials", "money", "phone", "short_zone",
    "when", "zone_label",
]  # fmt: skip


def when(start: datetime, tz: str, *, with_date: bool = True) -> str:
    """'Tue, Dec 1, 2026, 3:00 PM EST' in the given zone."""
    local = start.astimezone(ZoneInfo(tz))
    clock = local.strftime("%-I:%M %p")
    abbrev = local.tzname() or tz
    if not with_date:
        return f"{clock} {abbrev}"
    return f"{local.strftime('%a, %b %-d, %Y')}, {clock} {abbrev}"


def clock(at: time) -> str:
    """'3:30 PM'."""
    return at.strftime("%-I:%M %p")


def phone(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def money(amount: Decimal | str | int | None, currency: str = "usd") -> str:
    if amount is None:
        return "—"
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    symbol = "$" if currency.lower() == "usd" else currency.upper() + " "
    return f"{symbol}{value:,}"


def money_from_cents(cents: int | None, currency: str = "usd") -> str:
    """`money` of a stored amount in cents (exact: no float on the way)."""
    return money(Decimal(cents or 0) / 100, currency)


def cents(amount: Decimal | str) -> int:
    return int((Decimal(str(amount)) * 100).to_integral_value())


def initials(name: str) -> str:
    """What the dashboard shows by default: 'Jane Doe' -> 'J.D.', 'JD' -> 'JD'."""
    words = name.split()
    if not words:  # an erased participant (actions/erasure.py)
        return "(erased)"
    if len(words) == 1 and len(name) <= 4:
        return name
    return "".join(w[0].upper() + "." for w in words if w)
