"""The clinician's live calendar feed: `GET /cal/<secret>.ics` (RFC 5545).

What a subscribing calendar (Google, Outlook, Apple) polls: the clinician's sessions of
the last 30 days and to come, each the same event as the participant's invitation
(integrations/calendar.py: one UID for its life, SEQUENCE its version, cancelled ones
STATUS:CANCELLED), times in the clinician's zone with its VTIMEZONE, and their Enter
Meeting link. The feed lives in a third party's calendar, so a participant appears as
initials only: no name, e-mail or phone is in it.

A repeat poll is cheap: the validators (ETag, Last-Modified) come from one aggregate
over the clinician's index, and a matching If-None-Match / If-Modified-Since is answered
304 before any event is built. A poll after a change rebuilds only the events of the
sessions that changed: the others are kept built (`Built`), keyed by the plain columns
that stamp every change, so only the changed sessions' names and links are decrypted.
An unknown or malformed secret is a 404 after at most one indexed look-up, and its
misses count in the same throttle as the participant's links.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from integrations import calendar
from sessionbot.parts import Parts
from store import feeds

# token_urlsafe(24): 32 characters of the URL-safe alphabet; anything else is no feed.
SECRET = re.compile(r"[A-Za-z0-9_-]{32}")
FORMAT = "1"  # bump when the feed's shape changes, so every cached copy is replaced
REFRESH = timedelta(hours=1)
MEDIA_TYPE = "text/calendar; charset=utf-8"
PATH = "/cal/{secret}.ics"
# Events kept built between polls: ~1.1 KB each with its key, so at most ~22 MB a process.
EVENTS_KEPT = 20_000
# Whole feeds kept by their ETag: a poll without validators of an unchanged feed is served
# from memory after the one aggregate (a calendar that ignores ETags costs no rebuild).
# Bounded by bytes (a 2,000-session feed is ~2 MB), least recently used out first.
BODIES_KEPT_BYTES = 32 * 1024 * 1024


def now() -> datetime:
    return datetime.now(UTC)


def feed_initials(name: str) -> str:
    """Initials and nothing more: 'Jane Doe' -> 'J.D.', 'jane' -> 'J.', 'JD' -> 'J.D.'.

    Stricter than the dashboard's `initials`, which keeps a short single word as typed:
    a first name ("Ann") must not reach another company's calendar.
    """
    letters: list[str] = []
    for word in name.split()[:4]:
        alpha = [ch for ch in word if ch.isalpha()]
        if not alpha:
            continue
        typed_initials = 2 <= len(word) <= 3 and word.isalpha() and word.isupper()
        letters.extend(alpha if typed_initials else alpha[:1])
    return "".join(f"{ch.upper()}." for ch in letters) or "?"


@dataclass(frozen=True)
class Answer:
    """What the store said: no such feed; not modified; or the body and validators."""

    status: int
    body: bytes = b""
    etag: str = ""
    last_modified: datetime | None = None


class Feed:
    def __init__(self, parts: Parts, events: Built | None = None) -> None:
        self.parts = parts
        self.events = events if events is not None else Built()
        self.bodies = Bodies()

    async def show(self, request: Request) -> Response:
        secret = request.path_params["secret"]
        if not SECRET.fullmatch(secret):
            return self.not_found()
        answer = await run_in_threadpool(
            self.answer,
            secret,
            request.headers.get("if-none-match"),
            request.headers.get("if-modified-since"),
        )
        if answer.status == 404:
            return self.not_found()
        headers = {
            "ETag": answer.etag,
            # Personal: no shared cache keeps it; every use asks us (cheaply) first.
            "Cache-Control": "private, no-cache",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        }
        if answer.last_modified is not None:
            headers["Last-Modified"] = format_datetime(answer.last_modified, usegmt=True)
        if answer.status == 304:
            return Response(status_code=304, headers=headers)
        headers["Content-Disposition"] = 'inline; filename="sessions.ics"'
        return Response(answer.body, media_type=MEDIA_TYPE, headers=headers)

    @staticmethod
    def not_found() -> Response:
        return PlainTextResponse(
            "No calendar feed at this address.",
            status_code=404,
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

    def answer(
        self, secret: str, if_none_match: str | None, if_modified_since: str | None
    ) -> Answer:
        at = now()
        with self.parts.store.reading() as s:
            clinician = feeds.clinician_by_feed(s, secret)
            if clinician is None:
                return Answer(404)
            tz = self.parts.practice.zone_of(clinician.tz)  # theirs, else the practice's
            # A scheduler's or a supervisor's feed also holds their clinicians' sessions.
            others = feeds.feed_clinicians(s, clinician)
            ids = [clinician.id, *sorted(others)]
            state = feeds.feed_state(s, ids, at)
            etag = self.etag(ids, others, tz, state)
            modified = state.changed.replace(microsecond=0) if state.changed else None
            if _not_modified(etag, modified, if_none_match, if_modified_since):
                return Answer(304, etag=etag, last_modified=modified)
            # The body also depends on the year (its VTIMEZONE's range).
            whole = (etag, at.astimezone(ZoneInfo(tz)).year)
            served = self.bodies.get(whole)
            if served is not None:
                return Answer(200, served, etag, modified)
            rows = feeds.feed_rows(s, ids, at)
            keys = {row.id: _key(row, tz, others.get(row.clinician_id)) for row in rows}
            kept = {row.id: self.events.get(keys[row.id]) for row in rows}
            missing = [session_id for session_id, built in kept.items() if built is None]
            details = feeds.feed_details(s, missing) if missing else {}
        body = self.body(rows, tz, kept, details, others, keys)
        self.bodies.put(whole, body)
        return Answer(200, body, etag, modified)

    def etag(self, ids: list[int], others: dict[int, str], tz: str, state: feeds.FeedState) -> str:
        """Everything the body is made of, short of the body: whose sessions (and the names
        of the others'), the sessions in the window (how many, their last change, their
        versions), the zone, the practice's name and the links' base."""
        changed = state.changed.isoformat() if state.changed else "-"
        whose = ",".join(f"{i}={others.get(i, '')}" for i in ids)
        parts = (
            FORMAT, whose, tz, state.count, changed, state.versions,
            self.parts.practice.name, self.parts.settings.public_url,
        )  # fmt: skip
        digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]
        return f'"{digest}"'

    def body(
        self,
        rows: list[feeds.FeedRow],
        tz: str,
        kept: dict[int, calendar.Built | None],
        details: dict[int, tuple[str, str]],
        others: dict[int, str],
        keys: dict[int, EventKey],
    ) -> bytes:
        """The calendar: each event as `kept` from before (its session unchanged since),
        or built now from its `details` and kept for the next poll."""
        public_url = self.parts.settings.public_url
        events = []
        for row in rows:
            built = kept.get(row.id)
            if built is None:
                if row.id not in details:  # deleted between the two reads: gone from it
                    continue
                participant, host_token = details[row.id]
                cancelled = row.status == "cancelled"
                who = feed_initials(participant)
                # Another clinician's session (a scheduler's or supervisor's feed): named
                # for whom it is, and without their Enter Meeting (the host's own link).
                theirs = others.get(row.clinician_id)
                for_whom = f" · for {theirs}" if theirs is not None else ""
                enter = f"{public_url}/enter/{host_token}" if theirs is None else None
                built = calendar.build(
                    calendar.SessionEvent(
                        uid=calendar.uid_of(row.public_id),
                        sequence=row.sequence,
                        start=row.start_at,
                        duration_min=row.duration_min,
                        tz=tz,
                        summary=(
                            f"{'Cancelled: ' if cancelled else ''}Video session · {who}{for_whom}"
                        ),
                        stamp=row.updated_at,
                        last_modified=row.updated_at,
                        cancelled=cancelled,
                        url=enter,  # web/routes.py's host_enter
                    )
                )
                self.events.put(keys[row.id], built)
            events.append(built)
        name = f"{self.parts.practice.name}: sessions"
        year = now().astimezone(ZoneInfo(tz)).year
        return calendar.calendar(events, name=name, refresh=REFRESH, zone=(tz, year))


EventKey = tuple[str, int, str, datetime, int, datetime, str, str | None]


def _key(row: feeds.FeedRow, tz: str, theirs: str | None) -> EventKey:
    """Everything an event is made of that can change (any change to the session moves
    `updated_at` too; its host token and public id never change), and whose feed shows it
    (`theirs`: another clinician's name, in a scheduler's or supervisor's feed)."""
    return (
        row.public_id, row.sequence, row.status, row.start_at, row.duration_min,
        row.updated_at, tz, theirs,
    )  # fmt: skip


class Built:
    """The events built lately, by what they were built from: a poll rebuilds only the
    sessions changed since (least recently used first out, at `size`)."""

    def __init__(self, size: int = EVENTS_KEPT) -> None:
        self.size = size
        self.kept: OrderedDict[EventKey, calendar.Built] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: EventKey) -> calendar.Built | None:
        with self.lock:
            found = self.kept.get(key)
            if found is not None:
                self.kept.move_to_end(key)
            return found

    def put(self, key: EventKey, built: calendar.Built) -> None:
        with self.lock:
            self.kept[key] = built
            while len(self.kept) > self.size:
                self.kept.popitem(last=False)


class Bodies:
    """Whole feeds by (ETag, year), at most `size` bytes, least recently used out first."""

    def __init__(self, size: int = BODIES_KEPT_BYTES) -> None:
        self.size = size
        self.used = 0
        self.kept: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> bytes | None:
        with self.lock:
            found = self.kept.get(key)
            if found is not None:
                self.kept.move_to_end(key)
            return found

    def put(self, key: tuple[str, int], body: bytes) -> None:
        if len(body) > self.size:
            return
        with self.lock:
            old = self.kept.pop(key, None)
            self.used += len(body) - (len(old) if old is not None else 0)
            self.kept[key] = body
            while self.used > self.size:
                _, dropped = self.kept.popitem(last=False)
                self.used -= len(dropped)


def _not_modified(
    etag: str, modified: datetime | None, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present; else If-Modified-Since."""
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if if_modified_since is None or modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return modified <= since
