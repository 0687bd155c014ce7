"""The clinician's live calendar feed (`/cal/<secret>.ics`) as calendars read it.

Over HTTP (the ASGI app in process), on each store backend; the body parsed by
`icalendar` and, independently, by `vobject`, as a subscribing calendar would. Fake
participants with long, distinctive names, so a scan for them cannot match by chance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import icalendar
import pytest
import vobject
from conftest import TEST_KEY, at, make_settings
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from ground.channel import Channel
from ground.logs import redact
from ground.session import SessionSpec
from integrations.calendar import uid_of
from scheduling import booking, calendar_link, commands, starts
from sessionbot import cli
from sessionbot.asgi import create_app
from sessionbot.wiring import Parts, build
from store import clinician_rows, session_rows
from store.db import Store
from store.models import ScheduledSession
from store.rotation import rotate as rotate_keys

PUBLIC = "https://sessions.example.test"
TEAM, USER = "T_TEST", "U_CLIN1"
EASTERN = "America/New_York"

# The fake people whose details must never reach a feed, and their numbers as typed.
MARGUERITE = ("Marguerite Okonkwo-Vasquez", "m.okonkwo.vasquez@example.org", "+16175550142")
THADDEUS = ("thaddeus quennell", "thaddeus.quennell@example.net", "+14155550199")
PHONE_DIGITS = ["6175550142", "4155550199"]


@pytest.fixture
def parts(tmp_path: Path, store: Store) -> Parts:
    return build(make_settings(tmp_path, SESSIONBOT_PUBLIC_URL=PUBLIC), store=store)


@pytest.fixture
def client(parts: Parts) -> Iterator[TestClient]:
    with TestClient(create_app(parts), base_url=PUBLIC) as c:
        yield c


def book(
    parts: Parts,
    start: datetime,
    person: tuple[str, str, str] = MARGUERITE,
    *,
    channel: Channel = Channel.EMAIL,
    user: str = USER,
    participant_tz: str = "Europe/Berlin",
) -> ScheduledSession:
    name, email, phone = person
    draft = SessionSpec.for_one(
        draft_id=f"{user}-{start.isoformat()}-{name}",
        start=start,
        duration_min=50,
        participant=name,
        invite_channel=channel,
        email=email,
        phone=phone,
        participant_tz=participant_tz,
        documents=None,
        service=None,
        amount=None,
    )
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, TEAM, user, tz=EASTERN)
        session, _ = booking.book(s, clinician, draft, parts.practice, datetime.now(UTC))
        return session


def feed_path(parts: Parts, user: str = USER) -> str:
    """The path of the clinician's feed, as `calendar-url` and App Home show it."""
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, TEAM, user, tz=EASTERN)
        done, _ = calendar_link.show(s, clinician, PUBLIC)
    (url,) = re.findall(r"https://\S+\.ics", done.text)
    return url.removeprefix(PUBLIC)


def rotate(parts: Parts) -> str:
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, TEAM, USER)
        _, seen = calendar_link.show(s, clinician, PUBLIC)
        done, _ = calendar_link.rotate(s, clinician, PUBLIC, seen, datetime.now(UTC))
    assert "the old one stopped working" in done.text
    (url,) = re.findall(r"https://\S+\.ics", done.text)
    return url.removeprefix(PUBLIC)


def reschedule(parts: Parts, public_id: str, start: datetime) -> None:
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, TEAM, USER)
        check = starts.check_aware_start(start, datetime.now(UTC), parts.practice)
        done = commands.reschedule(
            s, clinician, public_id, check, parts.practice, datetime.now(UTC)
        )
    assert done.changed, done.text


def cancel(parts: Parts, public_id: str) -> None:
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, TEAM, USER)
        done = commands.cancel(s, clinician, public_id, parts.practice, datetime.now(UTC))
    assert done.changed, done.text


def read(body: bytes) -> tuple[dict[str, icalendar.Component], dict[str, object]]:
    """The feed's events by UID, as icalendar and as vobject read them."""
    cal = icalendar.Calendar.from_ical(body)
    by_icalendar = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    parsed = vobject.readOne(body.decode("utf-8"))
    by_vobject: dict[str, object] = {e.uid.value: e for e in parsed.contents.get("vevent", [])}
    assert set(by_icalendar) == set(by_vobject)
    return by_icalendar, by_vobject


def sequence(event: icalendar.Component) -> int:
    """The event's SEQUENCE (icalendar types a property as any of its value classes)."""
    value = event["SEQUENCE"]
    assert isinstance(value, int)  # vInt
    return int(value)


def test_the_feed_holds_the_clinicians_sessions_in_their_zone_read_by_two_parsers(
    parts: Parts, client: TestClient, clock
) -> None:
    tomorrow = book(parts, at("2026-11-25 15:00"))
    spring = book(parts, at("2027-04-06 09:30"), THADDEUS, channel=Channel.SMS)
    response = client.get(feed_path(parts))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(response.content)
    assert {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")} == {EASTERN}
    ours, theirs = read(response.content)
    assert set(ours) == {uid_of(tomorrow.public_id), uid_of(spring.public_id)}
    for session, wall, offset in (
        (tomorrow, "2026-11-25 15:00", -5),  # EST
        (spring, "2027-04-06 09:30", -4),  # EDT: the zone's rules, not a fixed offset
    ):
        uid = uid_of(session.public_id)
        event = ours[uid]
        assert event["DTSTART"].params["TZID"] == EASTERN
        dtstart = event["DTSTART"].to_ical()
        assert isinstance(dtstart, bytes)
        assert not dtstart.endswith(b"Z")
        assert event.decoded("DTSTART") == at(wall)
        assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=50)
        # vobject builds the zone from the feed's own VTIMEZONE.
        start = theirs[uid].dtstart.value  # type: ignore[attr-defined]
        assert start.replace(tzinfo=None) == datetime.fromisoformat(wall)
        assert start.utcoffset() == timedelta(hours=offset)
        enter = f"{PUBLIC}/enter/{session.host_token}"
        assert str(event["URL"]) == enter and enter in str(event["DESCRIPTION"])
        assert theirs[uid].status.value == "CONFIRMED"  # type: ignore[attr-defined]
    assert str(ours[uid_of(tomorrow.public_id)]["SUMMARY"]) == "Video session · M.O."
    assert str(ours[uid_of(spring.public_id)]["SUMMARY"]) == "Video session · T.Q."


def test_a_reschedule_keeps_the_uid_raises_the_sequence_and_a_cancel_shows_cancelled(
    parts: Parts, client: TestClient, clock
) -> None:
    session = book(parts, at("2026-11-25 15:00"))
    uid = uid_of(session.public_id)
    path = feed_path(parts)
    ours, theirs = read(client.get(path).content)
    assert sequence(ours[uid]) == 0
    reschedule(parts, session.public_id, at("2026-11-27 16:00"))
    ours, theirs = read(client.get(path).content)
    assert set(ours) == {uid}
    assert sequence(ours[uid]) == 1 and theirs[uid].sequence.value == "1"  # type: ignore[attr-defined]
    assert ours[uid].decoded("DTSTART") == at("2026-11-27 16:00")
    cancel(parts, session.public_id)
    ours, theirs = read(client.get(path).content)
    assert set(ours) == {uid}
    assert str(ours[uid]["STATUS"]) == "CANCELLED"
    assert theirs[uid].status.value == "CANCELLED"  # type: ignore[attr-defined]
    assert sequence(ours[uid]) == 2
    assert str(ours[uid]["SUMMARY"]).startswith("Cancelled:")
    assert "URL" not in ours[uid]  # no way into a cancelled meeting


def test_the_feed_names_no_participant_and_gives_no_address_or_phone(
    parts: Parts, client: TestClient, clock
) -> None:
    book(parts, at("2026-11-25 15:00"), MARGUERITE)
    book(parts, at("2026-11-26 11:00"), THADDEUS, channel=Channel.SMS)
    # An earlier session of the last 30 days is in the feed too.
    clock.move_to(at("2026-11-01 09:00"))
    book(parts, at("2026-11-10 10:00"), THADDEUS, channel=Channel.SMS)
    clock.move_to(at("2026-11-24 10:00"))
    body = client.get(feed_path(parts)).content
    assert len(read(body)[0]) == 3
    # Unfolded, so a name cut by a line fold is still found.
    text = body.decode("utf-8").replace("\r\n ", "").casefold()
    for name, email, _ in (MARGUERITE, THADDEUS):
        for word in re.split(r"[\s-]+", name):
            assert word.casefold() not in text, word
        assert email.casefold() not in text
        assert email.split("@")[0].casefold() not in text
    for digits in PHONE_DIGITS:
        # The number in any format: +1 (617) 555-0142, 617.555.0142, 6175550142 ...
        spaced = r"[\s().+-]*".join(digits)
        assert not re.search(spaced, text), digits
    assert "/j/" not in text  # no participant's link either


def test_only_this_clinicians_sessions_of_the_last_30_days_and_to_come(
    parts: Parts, client: TestClient, clock
) -> None:
    clock.move_to(at("2026-10-01 09:00"))
    old = book(parts, at("2026-10-20 10:00"))  # 35 days before now: left the feed
    recent = book(parts, at("2026-11-03 10:00"))  # 21 days before now
    clock.move_to(at("2026-11-24 10:00"))
    ahead = book(parts, at("2026-12-15 10:00"))
    other = book(parts, at("2026-11-25 10:00"), user="U_OTHER")
    ours, _ = read(client.get(feed_path(parts)).content)
    assert set(ours) == {uid_of(recent.public_id), uid_of(ahead.public_id)}
    assert uid_of(old.public_id) not in ours and uid_of(other.public_id) not in ours
    theirs, _ = read(client.get(feed_path(parts, "U_OTHER")).content)
    assert set(theirs) == {uid_of(other.public_id)}


def test_a_repeat_poll_is_answered_304_until_something_changes(
    parts: Parts, client: TestClient, clock
) -> None:
    session = book(parts, at("2026-11-25 15:00"))
    path = feed_path(parts)
    first = client.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    since = client.get(path, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    assert client.get(path, headers={"If-Modified-Since": later}).status_code == 304
    stale = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.content == first.content
    clock.shift(timedelta(minutes=5))
    reschedule(parts, session.public_id, at("2026-11-25 16:00"))
    moved = client.get(path, headers={"If-None-Match": etag, "If-Modified-Since": modified})
    assert moved.status_code == 200
    assert moved.headers["etag"] != etag
    ours, _ = read(moved.content)
    assert ours[uid_of(session.public_id)].decoded("DTSTART") == at("2026-11-25 16:00")
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 200


def test_a_new_link_stops_the_old_one_at_once(parts: Parts, client: TestClient, clock) -> None:
    book(parts, at("2026-11-25 15:00"))
    old = feed_path(parts)
    assert feed_path(parts) == old  # shown again, the same link
    assert client.get(old).status_code == 200
    new = rotate(parts)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert feed_path(parts) == new


def test_a_double_click_on_make_a_new_link_makes_one(parts: Parts, clock) -> None:
    feed_path(parts)
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, TEAM, USER)
        _, seen = calendar_link.show(s, clinician, PUBLIC)
    answers = []
    for _ in range(2):
        with parts.store.unit() as s:
            clinician = clinician_rows.get_clinician(s, TEAM, USER)
            answers.append(calendar_link.rotate(s, clinician, PUBLIC, seen, datetime.now(UTC)))
    (first, _), (second, _) = answers
    assert second.repeated
    link = re.findall(r"https://\S+\.ics", first.text)
    assert link and link == re.findall(r"https://\S+\.ics", second.text)
    assert feed_path(parts) == link[0].removeprefix(PUBLIC)


def test_unknown_and_malformed_secrets_are_404_and_guessing_is_throttled(
    parts: Parts, client: TestClient, clock
) -> None:
    real = feed_path(parts)
    for path in ("/cal/" + "A" * 32 + ".ics", "/cal/short.ics", "/cal/" + "%00" * 40 + ".ics"):
        assert client.get(path).status_code == 404
    statuses = [client.get(f"/cal/{i:032d}.ics").status_code for i in range(40)]
    assert statuses[:20] == [404] * 20
    assert statuses[-1] == 429
    assert client.get(real).status_code == 200  # a real link still opens


def test_calendar_url_prints_the_link_and_rotate_replaces_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, clock
) -> None:
    monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SESSIONBOT_PUBLIC_URL", PUBLIC)
    for name in ("SESSIONBOT_ENCRYPTION_KEY", "SESSIONBOT_DATABASE_URL", "STRIPE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    def url(*extra: str) -> str:
        assert cli.main(["calendar-url", "--user", "U_CLI", "--team", "T_CLI", *extra]) == 0
        (found,) = re.findall(r"https://\S+/cal/[A-Za-z0-9_-]{32}\.ics", capsys.readouterr().out)
        return found

    first = url()
    assert url() == first
    rotated = url("--rotate")
    assert rotated != first and url() == rotated


def test_a_renamed_participant_shows_new_initials_on_the_next_poll(
    parts: Parts, client: TestClient, clock
) -> None:
    """A change that does not move the session (its SEQUENCE stays) still reaches the
    feed: the event is built again, not served as it was kept."""
    session = book(parts, at("2026-11-25 15:00"))
    path = feed_path(parts)
    first = client.get(path)
    assert "Video session · M.O." in first.text
    clock.shift(timedelta(minutes=1))
    with parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, session.public_id, lock=True)
        assert row is not None
        row.participant = "Zebulon Fairweather-Ngata"
    again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200
    assert "Video session · Z.F." in again.text and "M.O." not in again.text


def test_the_feed_link_outlives_a_key_rotation(tmp_path: Path, clock) -> None:
    """`sessionbot keys rotate` re-encrypts the kept link; the same URL still opens."""
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    old, new = TEST_KEY, Fernet.generate_key().decode()
    store = Store.open(url, [old])
    parts = build(make_settings(tmp_path, SESSIONBOT_PUBLIC_URL=PUBLIC), store=store)
    session = book(parts, at("2026-11-25 15:00"))
    path = feed_path(parts)
    store.dispose()
    store = Store.open(url, [new, old])
    assert rotate_keys(store)["values re-encrypted"] > 0
    store.dispose()
    store = Store.open(url, [new])
    parts = build(make_settings(tmp_path, SESSIONBOT_PUBLIC_URL=PUBLIC), store=store)
    assert feed_path(parts) == path
    with TestClient(create_app(parts), base_url=PUBLIC) as client:
        ours, _ = read(client.get(path).content)
    assert set(ours) == {uid_of(session.public_id)}
    store.dispose()


def test_a_feed_link_in_a_log_line_is_masked(parts: Parts, clock) -> None:
    path = feed_path(parts)
    line = redact(f'127.0.0.1:5000 - "GET {path} HTTP/1.1" 200')
    assert path not in line and "/cal/[token]" in line


def test_a_feed_without_sessions_is_a_valid_calendar_in_the_clinicians_zone(
    parts: Parts, client: TestClient, clock
) -> None:
    body = client.get(feed_path(parts)).content
    cal = icalendar.Calendar.from_ical(body)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == [EASTERN]
    assert str(cal["X-WR-TIMEZONE"]) == EASTERN
    assert read(body) == ({}, {})
