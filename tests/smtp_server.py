"""A local SMTP server (aiosmtpd) on loopback that records every message it accepts.

`outage(n)` answers the next n DATA commands with 451 (try later); `refuse(addr)` answers
RCPT for that address with 550 (no such user), as real mail servers do.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Recorder:
    received: list[Received] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    failures_left: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def outage(self, n: int) -> None:
        with self.lock:
            self.failures_left = n

    def refuse(self, address: str) -> None:
        self.refused.add(address.lower())

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return "451 4.3.0 Try again later"
            msg = message_from_bytes(envelope.content, policy=policy.default)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    url: str
    recorder: Recorder

    @property
    def received(self) -> list[Received]:
        return self.recorder.received


@pytest.fixture(name="smtp_server")
def smtp_server_fixture() -> Iterator[SmtpServer]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(url=f"smtp://127.0.0.1:{port}", recorder=recorder)
    finally:
        controller.stop()
