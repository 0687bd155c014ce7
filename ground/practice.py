"""The practice file: services formulary, document packages, reminders, join window.

A TOML file named by SESSIONBOT_PRACTICE_FILE; without one, the built-in example
practice (example_practice.toml beside this module) so every step can be seen.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from ground.hours import HoursError, WorkingHours, parse_hours
from ground.language import available, normalize


@dataclass(frozen=True)
class Document:
    title: str
    url: str
    required: bool = False


@dataclass(frozen=True)
class DocumentPackage:
    key: str
    name: str
    items: tuple[Document, ...] = ()


@dataclass(frozen=True)
class Service:
    key: str
    name: str
    price: Decimal
    minutes: int


@dataclass(frozen=True)
class Practice:
    name: str = "Example Practice"
    default_region: str = "US"
    default_timezone: str = "America/New_York"
    session_minutes: int = 50
    max_amount: Decimal = Decimal("2000.00")
    currency: str = "usd"
    reminder_offsets: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    join_before: timedelta = timedelta(minutes=15)
    join_after_end: timedelta = timedelta(minutes=30)
    documents: tuple[DocumentPackage, ...] = ()
    services: tuple[Service, ...] = field(default_factory=tuple)
    # Hours (start, end) the practice sees clients: "at 5" is 5 PM when only 17:00 fits.
    working_hours: tuple[int, int] = (8, 20)
    # The default working hours (`working_hours = "Mon-Fri 08:00-18:00"`, in each
    # clinician's own zone): a start outside them is asked. None: nothing is asked.
    hours: WorkingHours | None = None
    max_series: int = 52  # the most occurrences one series may have
    max_participants: int = 6  # the most participants one session may have (said when passed)
    remind_every: timedelta = timedelta(minutes=10)  # "Remind now" at most this often
    # A DM to the clinician this long before each session, with Enter Meeting; None: off.
    nudge_before: timedelta | None = None
    # A cancellation less than this many hours before the start is late: the participant's
    # page says so, with the practice's words on fees (`late_cancel_policy`), and a paid
    # session's refund may keep `late_cancel_fee` (in `currency`; None: no fee).
    cancel_notice_hours: int = 24
    late_cancel_policy: str | None = None
    late_cancel_fee: Decimal | None = None
    # How long participant data (name, e-mail, phone) is kept after a session ends, and
    # Slack inbox bodies and conversation drafts after their last use (README, "Retention").
    retention_days: int = 365
    inbox_retention_days: int = 30
    # What participants read (texts, e-mails, the page) when theirs is not known: a code
    # with a catalog in ground/locale ("en", "es"). Clinicians read English.
    language: str = "en"
    # `sms_consent = "ask"`: the conversation asks once per new mobile number whether the
    # participant agreed to texts, and no text goes to a number without a recorded Yes.
    # False (absent or "off"): nothing is asked, texts go as before.
    sms_consent: bool = False

    @property
    def cancel_notice(self) -> timedelta:
        return timedelta(hours=self.cancel_notice_hours)

    def zone_of(self, clinician_tz: str | None) -> str:
        """A clinician's zone: their own, else the practice's default (never UTC)."""
        return clinician_tz or self.default_timezone

    def package(self, key: str | None) -> DocumentPackage | None:
        return next((p for p in self.documents if p.key == key), None)

    def service(self, key: str | None) -> Service | None:
        return next((s for s in self.services if s.key == key), None)

    def duration_for(self, service_key: str | None) -> int:
        service = self.service(service_key)
        return service.minutes if service else self.session_minutes


class PracticeFileError(ValueError):
    """The practice file cannot be used; the message says which entry and why."""


def _days(data: dict, name: str, default: int) -> int:
    days = int(data.get(name, default))
    if days < 1:
        raise ValueError(f"{name} must be at least 1 day, not {days}")
    return days


def parse_practice(data: dict) -> Practice:
    """Build a Practice from the TOML structure, with clear errors for bad entries."""
    try:
        ZoneInfo(data.get("default_timezone", "America/New_York"))
        window = data.get("join_window", {})
        hours = data.get("working_hours", {})
        default_hours = None
        if isinstance(hours, str):
            try:
                default_hours = parse_hours(hours)
            except HoursError as exc:
                raise ValueError(f"working_hours {hours!r}: {exc}") from None
            working_hours = default_hours.bounds()
        else:  # the older table: only what close calls ("at 5") read
            working_hours = (int(hours.get("start", 8)), int(hours.get("end", 20)))
        if not 0 <= working_hours[0] < working_hours[1] <= 24:
            raise ValueError(f"working_hours must be 0 <= start < end <= 24, not {working_hours}")
        nudge = data.get("agenda", {}).get("nudge_minutes_before")
        fee = data.get("late_cancel_fee")
        late_cancel_fee = Decimal(str(fee)).quantize(Decimal("0.01")) if fee else None
        if late_cancel_fee is not None and late_cancel_fee < 0:
            raise ValueError(f"late_cancel_fee must be positive, not {fee!r}")
        services = tuple(
            Service(
                key=str(s["key"]),
                name=str(s["name"]),
                price=Decimal(str(s["price"])).quantize(Decimal("0.01")),
                minutes=int(s.get("minutes", data.get("session_minutes", 50))),
            )
            for s in data.get("services", [])
        )
        documents = tuple(
            DocumentPackage(
                key=str(p["key"]),
                name=str(p["name"]),
                items=tuple(
                    Document(str(d["title"]), str(d.get("url", "")), bool(d.get("required")))
                    for d in p.get("items", [])
                ),
            )
            for p in data.get("documents", [])
        )
        return Practice(
            name=str(data.get("name", "Example Practice")),
            default_region=str(data.get("default_region", "US")).upper(),
            default_timezone=str(data.get("default_timezone", "America/New_York")),
            session_minutes=int(data.get("session_minutes", 50)),
            max_amount=Decimal(str(data.get("max_amount", "2000.00"))),
            currency=str(data.get("currency", "usd")).lower(),
            reminder_offsets=tuple(
                timedelta(minutes=int(m)) for m in data.get("reminder_offsets_minutes", [1440, 60])
            ),
            join_before=timedelta(minutes=int(window.get("minutes_before", 15))),
            join_after_end=timedelta(minutes=int(window.get("minutes_after_end", 30))),
            documents=documents,
            services=services,
            working_hours=working_hours,
            hours=default_hours,
            max_series=int(data.get("max_series", 52)),
            max_participants=max(1, int(data.get("max_participants", 6))),
            nudge_before=timedelta(minutes=int(nudge)) if nudge else None,
            cancel_notice_hours=_hours(data.get("cancel_notice_hours", 24)),
            late_cancel_policy=str(data["late_cancel_policy"]).strip() or None
            if data.get("late_cancel_policy")
            else None,
            late_cancel_fee=late_cancel_fee or None,
            retention_days=_days(data, "retention_days", 365),
            inbox_retention_days=_days(data, "inbox_retention_days", 30),
            language=_language(data.get("language", "en")),
            sms_consent=_sms_consent(data.get("sms_consent", "off")),
        )
    except (KeyError, ValueError, ArithmeticError, TypeError) as exc:
        # Said as a sentence: the setting and what is wrong with it (a missing key by name).
        said = f"{exc.args[0]!r} is missing" if isinstance(exc, KeyError) else str(exc)
        raise PracticeFileError(f"practice file: {said}") from exc


def _language(value: object) -> str:
    code = normalize(str(value))
    if code is None:
        offered = ", ".join(available())
        raise ValueError(f"language {value!r} has no message catalog; one of: {offered}")
    return code


def _sms_consent(value: object) -> bool:
    if value in ("ask", True):
        return True
    if value in ("off", False):
        return False
    raise ValueError(f'sms_consent must be "ask" or "off", not {value!r}')


def _hours(value: object) -> int:
    hours = int(str(value))
    if not 0 <= hours <= 24 * 14:
        raise ValueError(f"cancel_notice_hours must be 0 to 336 hours, not {hours}")
    return hours


def load_practice(path: Path | None) -> Practice:
    """The practice from `path`, or the built-in example practice."""
    if path is None:
        text = resources.files(__package__).joinpath("example_practice.toml").read_text()
        return parse_practice(tomllib.loads(text))
    where = f"SESSIONBOT_PRACTICE_FILE ({path})"
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise PracticeFileError(f"{where} does not exist: give the path of a TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise PracticeFileError(f"{where} cannot be read ({reason})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PracticeFileError(f"{where} is not valid TOML: {exc}") from None
    try:
        return parse_practice(data)
    except PracticeFileError as exc:
        raise PracticeFileError(f"{where}: {str(exc).removeprefix('practice file: ')}") from None
