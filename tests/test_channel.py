"""The channels: one enum, one adapter each, the stored values unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from ground.channel import INVITATIONS, Channel
from ground.session import SessionSpec
from integrations import providers
from scheduling import booking, queue
from sessionbot.parts import Parts
from store import clinician_rows, outbox_rows


def test_every_invitation_channel_but_none_has_an_adapter_and_the_others_none() -> None:
    table = providers.local().adapters
    assert {c for c in INVITATIONS if c is not Channel.NONE} == set(table)
    assert providers.local().adapter(Channel.of("whatsapp")) is None
    assert providers.local().adapter(Channel.SLACK) is None  # notices are their own kind


def test_the_stored_values_are_the_strings_the_database_already_holds() -> None:
    assert [str(c) for c in Channel] == ["email", "sms", "none", "slack"]
    assert Channel.of("sms") is Channel.SMS and Channel.SMS == "sms"
    assert Channel.invitation("slack") is None and Channel.of(None) is None


def test_a_message_on_no_channel_is_refused_where_it_is_queued() -> None:
    now = datetime(2026, 12, 1, 15, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a channel"):
        queue.Message("invitation", "whatsapp", now, "k")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        queue.Message("invitation", Channel("whatsapp"), now, "k")


class Recording:
    """Another outbox behind the seam: what a producer put, kept in memory."""

    def __init__(self) -> None:
        self.put_messages: list[queue.Message] = []

    def put(self, s: Session, message: queue.Message, *, once: bool = False) -> bool:
        self.put_messages.append(message)
        return True


def test_producers_reach_the_outbox_only_through_its_seam(parts: Parts) -> None:
    """A booking's messages (the invitation, the reminders) go to whatever outbox the
    process uses: another queue replaces the SQL table without touching a producer."""
    recording = Recording()
    queue.use(recording)
    try:
        start = datetime.now(UTC) + timedelta(days=3)
        spec = SessionSpec.for_one(
            "seam-1", start, 50, "Jane Doe", "email", "jane.doe@example.com", None,
            "America/New_York",
        )  # fmt: skip
        with parts.store.unit() as s:
            clinician = clinician_rows.get_clinician(s, "T_SEAM", "U_SEAM")
            booking.book(s, clinician, spec, parts.practice, datetime.now(UTC))
    finally:
        queue.use(queue.SqlOutbox())
    kinds = [m.kind for m in recording.put_messages]
    assert kinds[0] == "invitation" and "reminder" in kinds
    assert all(m.channel is Channel.EMAIL for m in recording.put_messages)
    with parts.store.unit() as s:
        assert outbox_rows.list_outbox(s, statuses=None, limit=10) == []  # nothing in the table
