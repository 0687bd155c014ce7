"""Builders for the outbox tests: parts wired to local SMTP/Twilio, sessions, a worker run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import Chat, make_settings

from dialogue.turn_io import Who
from ground.session import SessionSpec
from integrations.providers import payments, senders
from scheduling import booking
from sessionbot.outbox.base import Retry
from sessionbot.outbox.worker import Stats, Worker
from sessionbot.wiring import Parts, build
from store import clinician_rows, outbox_rows, session_rows
from store.db import Store
from store.models import OutboxMessage, ScheduledSession

CLINICIAN = Who("T_TEST", "U_CLIN1", tz="America/New_York")


def wired_parts(tmp_path: Path, store: Store, *, smtp=None, twilio=None, **extra: str) -> Parts:
    """Parts with SMTP/Twilio pointed at the local servers given; `extra`: more settings."""
    env: dict[str, str] = dict(extra)
    if smtp is not None:
        env["SESSIONBOT_SMTP_URL"] = smtp.url
        env.setdefault("SESSIONBOT_MAIL_FROM", "Example Practice <sessions@practice.example>")
        if getattr(smtp, "ca_file", None):
            env["SESSIONBOT_SMTP_CA_FILE"] = smtp.ca_file
    if twilio is not None:
        env.update(twilio.env())
    return build(make_settings(tmp_path, **env), store=store)


def schedule(parts: Parts, text: str, tz_answer: str = "Pacific") -> ScheduledSession:
    """A session saved through the real conversation, as a clinician would."""
    chat = Chat(parts, CLINICIAN)
    reply = chat.say(text)
    if reply.requested_slot == "participant_tz":
        reply = chat.say(tz_answer)
    assert reply.phase == "confirm", reply.text
    reply = chat.say("save")
    assert reply.saved_session_id, reply.text
    return session(parts, reply.saved_session_id)


def book_many(parts: Parts, n: int, *, channel: str = "sms") -> None:
    """n sessions saved at once (numbers +1617555nnnn): n invitations due now."""
    now = datetime.now(UTC)
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
        for i in range(n):
            draft = SessionSpec.for_one(
                draft_id=f"bulk-{i}",
                start=now + timedelta(days=3, minutes=i),
                duration_min=50,
                participant=f"P{i}",
                invite_channel=channel,
                email=f"p{i}@example.com" if channel == "email" else None,
                phone=f"+1617555{i:04d}" if channel == "sms" else None,
                participant_tz="America/Los_Angeles",
                documents=None,
                service=None,
                amount=None,
            )
            booking.book(s, clinician, draft, parts.practice, now)


def session(parts: Parts, public_id: str) -> ScheduledSession:
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
        found = session_rows.session_for_clinician(s, clinician.id, public_id)
        assert found is not None
        return found


def worker(parts: Parts, **kw) -> Worker:
    kw.setdefault("retry", Retry())
    kw.setdefault("payments", payments(parts.settings))  # None without Stripe settings
    return Worker(
        parts.store,
        parts.practice,
        parts.settings,
        senders(parts.settings, parts.store),
        **kw,
    )


def run_worker(parts: Parts) -> Stats:
    return worker(parts).run_once()


def cancel(parts: Parts, public_id: str) -> None:
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
        found = session_rows.session_for_clinician(s, clinician.id, public_id, lock=True)
        assert found is not None
        booking.cancel(s, found, parts.practice, datetime.now(UTC))


def reschedule(parts: Parts, public_id: str, new_start: datetime) -> None:
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
        found = session_rows.session_for_clinician(s, clinician.id, public_id, lock=True)
        assert found is not None
        booking.reschedule(s, found, new_start, parts.practice, datetime.now(UTC))


def outbox(parts: Parts) -> list[OutboxMessage]:
    with parts.store.unit() as s:
        return outbox_rows.list_outbox(s, limit=10_000)


def clinician_notices(parts: Parts) -> list[str]:
    """What the clinician was told by DM (the local Slack outbox in these tests)."""
    return [m.payload or "" for m in outbox(parts) if m.kind == "clinician_notice"]
