"""How times, zones, phones and amounts are written for people."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
from babel.dates import format_date, format_skeleton, format_time, get_timezone_name

from ground.language import SOURCE
from ground.zones import short_zone, zone_label

__all__ = [
    "cents", "clock", "initials", "money", "phone", "short_zone",
    "when", "zone_label", "zone_label_in", "zone_name",
]  # fmt: skip


def zone_abbreviation(local: datetime, tz: str) -> str:
    """The one way a time's zone is written after it, on every face (Slack, texts, e-mails,
    the page, the CLI): the season's abbreviation ("EST", "PDT", "MST"), or the zone's short
    name where it has none ("+03" is written "Istanbul")."""
    name = local.tzname() or ""
    return name if name and not name.startswith(("+", "-")) else short_zone(tz)


def when(
    start: datetime,
    tz: str,
    *,
    with_date: bool = True,
    style: str = "full",
    language: str = SOURCE,
) -> str:
    """An instant in `tz`, the one renderer of a time with its zone:

    - "full": 'Tue, Dec 1, 2026, 3:00 PM EST' (Slack, the CLI, the page);
      with_date=False: '3:00 PM EST';
    - "short": 'Tue Dec 1, 3:00 PM EST' (a text message's few characters);
    - "long": 'Tuesday, December 1, 2026 at 3:00 PM EST (Eastern time, America/New_York)'
      (an e-mail).

    Another `language` (a participant's) writes the date and clock as its locale does
    (Babel, CLDR), with the same zone abbreviation: 'mar, 1 dic, 12:00 PST'.
    """
    local = start.astimezone(ZoneInfo(tz))
    if language != SOURCE:
        return _when_in(local, tz, language, with_date=with_date, style=style)
    at = f"{local.strftime('%-I:%M %p')} {zone_abbreviation(local, tz)}"
    if style == "short":
        return f"{local.strftime('%a %b %-d')}, {at}"
    if style == "long":
        name = short_zone(tz)
        zone = f"{name} time, {tz}" if name != tz else tz
        return f"{local.strftime('%A, %B %-d, %Y')} at {at} ({zone})"
    if not with_date:
        return at
    return f"{local.strftime('%a, %b %-d, %Y')}, {at}"


def _when_in(local: datetime, tz: str, language: str, *, with_date: bool, style: str) -> str:
    at = f"{format_time(local, 'short', locale=language)} {zone_abbreviation(local, tz)}"
    if style == "short":
        return f"{format_skeleton('MMMEd', local, locale=language)}, {at}"
    if style == "long":
        zone = f"{zone_name(tz, language)}, {tz}"
        return f"{format_date(local, 'full', locale=language)}, {at} ({zone})"
    if not with_date:
        return at
    return f"{format_skeleton('yMMMEd', local, locale=language)}, {at}"


def zone_name(tz: str, language: str = SOURCE) -> str:
    """A zone's name in a participant's language: 'hora del Pacífico'."""
    if language == SOURCE:
        return short_zone(tz)
    return get_timezone_name(ZoneInfo(tz), "long", locale=language)


def zone_label_in(tz: str, language: str = SOURCE) -> str:
    """`zone_label` in a participant's language: 'hora del Pacífico (America/Los_Angeles)'."""
    if language == SOURCE:
        return zone_label(tz)
    return f"{zone_name(tz, language)} ({tz})"


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
    if not words:  # an erased participant (scheduling/erasure.py)
        return "(erased)"
    if len(words) == 1 and len(name) <= 4:
        return name
    return "".join(w[0].upper() + "." for w in words if w)
