"""Builders for the participant page tests: the app on a real uvicorn server in a thread,
settings pointing at the fake Stripe, and sessions booked through `scheduling.booking`.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import uvicorn
from conftest import make_settings
from fake_stripe import FakeStripe

from ground.session import SessionSpec
from scheduling import booking
from sessionbot.asgi import create_app
from sessionbot.wiring import Parts, build
from store import clinician_rows, session_rows
from store.db import Store
from store.models import ScheduledSession

VIDEO_URL = "https://meet.example.test"


@dataclass(frozen=True)
class Booked:
    public_id: str
    token: str
    host_token: str
    room_name: str

    @property
    def path(self) -> str:
        return f"/j/{self.token}"


def page_parts(tmp_path: Path, store: Store, fake: FakeStripe | None, public_url: str) -> Parts:
    env = {"SESSIONBOT_PUBLIC_URL": public_url, "SESSIONBOT_VIDEO_URL": VIDEO_URL}
    if fake is not None:
        env |= {
            "STRIPE_API_KEY": "sk_test_fake",
            "STRIPE_WEBHOOK_SECRET": fake.webhook_secret,
            "SESSIONBOT_STRIPE_API_URL": fake.url,
        }
    return build(make_settings(tmp_path, **env), store=store)


def book(
    parts: Parts,
    start: datetime,
    *,
    participant_tz: str = "America/Los_Angeles",
    documents: str | None = "intake",
    service: str | None = "initial",
    amount: str | None = "180.00",
    clinician: str = "Dr. Rivera",
    team: str = "T_TEST",
) -> Booked:
    """A session saved the way the conversation saves it."""
    draft = SessionSpec.for_one(
        draft_id=uuid.uuid4().hex,
        start=start,
        duration_min=parts.practice.duration_for(service),
        participant="Jane Doe",
        invite_channel="none",
        email=None,
        phone=None,
        participant_tz=participant_tz,
        documents=documents,
        service=service,
        amount=Decimal(amount) if amount else None,
    )
    with parts.store.unit() as s:
        who = clinician_rows.get_clinician(s, team, "U_CLIN1", tz="America/New_York")
        who.display_name = clinician
        session, _ = booking.book(s, who, draft, parts.practice, datetime.now(UTC))
        return Booked(session.public_id, session.token, session.host_token, session.room_name)


def reserve_port() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(parts: Parts, sock: socket.socket) -> Iterator[str]:
    """`create_app(parts)` on uvicorn in a thread, on an already bound socket."""
    config = uvicorn.Config(create_app(parts), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield parts.settings.public_url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def session_row(parts: Parts, public_id: str) -> ScheduledSession:
    with parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, public_id)
        assert row is not None, public_id
        return row
