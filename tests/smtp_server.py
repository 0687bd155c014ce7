"""A local SMTP server (aiosmtpd) on loopback that records every message it accepts.

`outage(n)` answers the next n DATA commands with 451 (try later); `latency` delays
every DATA answer (connections are served concurrently); `refuse(addr)` answers
RCPT for that address with 550 (no such user), as real mail servers do.

`secure_smtp` starts one with TLS: a certificate for 127.0.0.1 signed by a CA made at
test time (`Certificates.ca_file` is what SESSIONBOT_SMTP_CA_FILE points at), STARTTLS
or implicit TLS (smtps), and AUTH that records each login and whether TLS was on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthenticatorType, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class BoundController(Controller):
    """aiosmtpd's threaded controller on a socket bound here, port 0, or on `listener` (a
    loopback socket bound by the caller): the port it reports is the one it holds, with no
    window for another test process to take it first."""

    def __init__(
        self, handler: Any, *, listener: socket.socket | None = None, **kwargs: Any
    ) -> None:
        if listener is None:
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
        self.listener = listener
        super().__init__(
            handler, hostname="127.0.0.1", port=self.listener.getsockname()[1], **kwargs
        )

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker, sock=self.listener, ssl=self.ssl_context
        )


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes = b""  # the DATA as it arrived, for parsers of one's own choosing


@dataclass
class Recorder:
    received: list[Received] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    failures_left: int = 0
    latency: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0  # DATA commands being answered now
    peak: int = 0  # the most ever answered at once (how concurrently a client sent)

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
        if self.latency:
            with self.lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
            await asyncio.sleep(self.latency)
            with self.lock:
                self.in_flight -= 1
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return "451 4.3.0 Try again later"
            msg = message_from_bytes(envelope.content, policy=policy.default)
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), msg, envelope.content)
            )
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
    controller = BoundController(recorder)
    port = controller.port
    controller.start()
    try:
        yield SmtpServer(url=f"smtp://127.0.0.1:{port}", recorder=recorder)
    finally:
        controller.stop()


# TLS and AUTH --------------------------------------------------------------------------

USER, PASSWORD = "practice", "s3cret pass"


@dataclass
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def make_certificates(folder: Path) -> Certificates:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost, signed by it."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sessionbot test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    found = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    found.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    found.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    found.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return found


@dataclass
class Login:
    mechanism: str
    user: str
    password: str
    over_tls: bool


@dataclass
class SecureSmtp(SmtpServer):
    logins: list[Login] = field(default_factory=list)
    ca_file: str = ""


def _authenticator(logins: list[Login]) -> AuthenticatorType:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        # STARTTLS sets session.ssl; implicit TLS (smtps) shows on the transport.
        assert server.transport is not None  # connected: it is logging in
        over_tls = session.ssl is not None or server.transport.get_extra_info("ssl_object")
        logins.append(Login(mechanism, user, password, over_tls=bool(over_tls)))
        return AuthResult(success=(user, password) == (USER, PASSWORD))

    return check


SecureServer = Callable[..., SecureSmtp]


@pytest.fixture(name="secure_smtp")
def secure_smtp_fixture(tmp_path: Path) -> Iterator[SecureServer]:
    """Start SMTP servers with TLS: `secure_smtp(mode="starttls"|"smtps"|"plain")`.

    AUTH is offered before TLS too (`auth_require_tls=False`), as some servers do, so a
    client that logged in before STARTTLS would be caught: every login is recorded with
    whether TLS was on.
    """
    certificates = make_certificates(tmp_path / "tls")
    started: list[Controller] = []

    def start(mode: str = "starttls", *, user: str = USER, password: str = PASSWORD) -> SecureSmtp:
        recorder = Recorder()
        logins: list[Login] = []
        kwargs: dict[str, Any] = {  # aiosmtpd's SMTP options, of many types
            "authenticator": _authenticator(logins),
            "auth_require_tls": False,
        }
        if mode == "starttls":
            kwargs["tls_context"] = certificates.server_context()
        elif mode == "smtps":
            kwargs["ssl_context"] = certificates.server_context()
        controller = BoundController(recorder, **kwargs)
        port = controller.port
        controller.start()
        started.append(controller)
        scheme = "smtps" if mode == "smtps" else "smtp"
        return SecureSmtp(
            url=f"{scheme}://{quote(user)}:{quote(password)}@127.0.0.1:{port}",
            recorder=recorder,
            logins=logins,
            ca_file=str(certificates.ca_file),
        )

    yield start
    for controller in started:
        controller.stop()
