"""`sessionbot check`: is this configuration ready to run? Every part, one line each.

It reads the settings, opens the database (reachable, migrated, the key reads its data),
loads the practice file, and looks at the shape of each outside service's credentials
without calling the service (a deploy step must not text anyone or depend on Slack being
up). Each line says ok, off (a feature not configured: it stays off, by design) or a
problem with what to do; the exit code is 0 when nothing is a problem, 2 otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ground.settings import Settings

NAME = "check"

Verdict = Literal["ok", "off", "problem"]


@dataclass(frozen=True)
class Finding:
    part: str
    verdict: Verdict
    detail: str


def add_parser(sub: argparse._SubParsersAction) -> None:
    sub.add_parser(
        NAME,
        help="check the configuration, database, key, practice file and credentials",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    findings = list(check(settings))
    width = max(len(f.part) for f in findings)
    for f in findings:
        print(f"{f.part:<{width}}  {f.verdict:<7}  {f.detail}")
    problems = sum(f.verdict == "problem" for f in findings)
    print(f"{problems} problem{'s' * (problems != 1)}" if problems else "ready")
    sys.stdout.flush()
    return 2 if problems else 0


def check(settings: Settings) -> Iterator[Finding]:
    yield from _store(settings)
    yield _practice(settings)
    yield from _slack(settings)
    yield _twilio(settings)
    yield _smtp(settings)
    yield _stripe(settings)
    yield _video(settings)
    yield _public_url(settings)
    yield _actions(settings)


def _store(settings: Settings) -> Iterator[Finding]:
    from sqlalchemy.exc import SQLAlchemyError

    from actions.context import open_store
    from store.db import StoreOpenError

    shown = _without_password(settings.database_url)
    try:
        store = open_store(settings)
    except StoreOpenError as exc:
        yield Finding("database", "problem", f"{shown}: {exc}")
        return
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        reason = str(orig).strip().splitlines()[0] if orig else type(exc).__name__
        yield Finding("database", "problem", f"{shown} cannot be reached ({reason})")
        return
    try:
        kind = "embedded SQLite" if settings.is_embedded else "PostgreSQL"
        yield Finding("database", "ok", f"{kind} at {shown}, schema up to date")
        keys = len(settings.encryption_keys)
        if keys == 0:
            yield Finding("key", "ok", f"the embedded key file in {settings.data_dir}")
        else:
            rotate = ", older ones still read (run `sessionbot keys rotate`)" if keys > 1 else ""
            yield Finding("key", "ok", f"reads this database's data{rotate}")
    finally:
        store.dispose()


def _practice(settings: Settings) -> Finding:
    from ground.practice import PracticeFileError, load_practice

    try:
        practice = load_practice(settings.practice_file)
    except PracticeFileError as exc:
        return Finding("practice", "problem", str(exc))
    where = str(settings.practice_file) if settings.practice_file else "the built-in example"
    return Finding(
        "practice",
        "ok",
        f"{practice.name} ({where}): {len(practice.services)} services, "
        f"{len(practice.documents)} document packages, zone {practice.default_timezone}",
    )


def _shape(value: str | None, pattern: str) -> bool:
    return bool(value and re.fullmatch(pattern, value))


def _slack(settings: Settings) -> Iterator[Finding]:
    problems = []
    if settings.slack_bot_token and not _shape(settings.slack_bot_token, r"xoxb-[\w-]+"):
        problems.append("SLACK_BOT_TOKEN is not a bot token (it starts with xoxb-)")
    if settings.slack_app_token and not _shape(settings.slack_app_token, r"xapp-[\w-]+"):
        problems.append("SLACK_APP_TOKEN is not an app-level token (it starts with xapp-)")
    if settings.slack_signing_secret and not _shape(settings.slack_signing_secret, r"[0-9a-f]{32}"):
        problems.append("SLACK_SIGNING_SECRET is not 32 hexadecimal characters")
    if bool(settings.slack_client_id) != bool(settings.slack_client_secret):
        problems.append("OAuth installs need both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
    http = settings.slack_signing_secret and (settings.slack_bot_token or settings.slack_client_id)
    socket = settings.slack_app_token and (settings.slack_bot_token or settings.slack_client_id)
    if problems:
        yield from (Finding("slack", "problem", p) for p in problems)
    elif settings.slack_app_token and not socket:
        yield Finding("slack", "problem", "Socket Mode needs SLACK_BOT_TOKEN too")
    elif socket:
        yield Finding("slack", "ok", "Socket Mode (SLACK_APP_TOKEN)")
    elif http:
        mode = "OAuth installs" if settings.slack_client_id else "one workspace"
        yield Finding("slack", "ok", f"HTTP at {settings.public_url}/slack/events, {mode}")
    elif settings.slack_bot_token or settings.slack_client_id:
        yield Finding("slack", "problem", "HTTP mode needs SLACK_SIGNING_SECRET")
    else:
        yield Finding("slack", "off", "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")


def _twilio(settings: Settings) -> Finding:
    given = (settings.twilio_account_sid, settings.twilio_auth_token)
    if not any(given) and not settings.twilio_from_number:
        return Finding("texts", "off", "invitations by text go to the local outbox")
    if not _shape(settings.twilio_account_sid, r"AC[0-9a-fA-F]{32}"):
        return Finding("texts", "problem", "TWILIO_ACCOUNT_SID is AC and 32 hex characters")
    if not _shape(settings.twilio_auth_token, r"[0-9a-fA-F]{32}"):
        return Finding("texts", "problem", "TWILIO_AUTH_TOKEN is 32 hex characters")
    if settings.twilio_messaging_service_sid:
        if not _shape(settings.twilio_messaging_service_sid, r"MG[0-9a-fA-F]{32}"):
            return Finding(
                "texts", "problem", "TWILIO_MESSAGING_SERVICE_SID is MG and 32 hex characters"
            )
        return Finding("texts", "ok", "Twilio, from a messaging service")
    if not _shape(settings.twilio_from_number, r"\+[1-9]\d{6,14}"):
        return Finding(
            "texts",
            "problem",
            "TWILIO_FROM_NUMBER is a number in E.164 (+15555550100) "
            "or set TWILIO_MESSAGING_SERVICE_SID",
        )
    return Finding("texts", "ok", "Twilio, from TWILIO_FROM_NUMBER")


def _smtp(settings: Settings) -> Finding:
    if not settings.smtp_url:
        return Finding("e-mail", "off", "invitations by e-mail go to the local outbox")
    parts = urlsplit(settings.smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        return Finding(
            "e-mail",
            "problem",
            "SESSIONBOT_SMTP_URL is smtp://USER:PASS@HOST:587 (STARTTLS) or smtps://HOST:465",
        )
    try:
        port = parts.port
    except ValueError:
        return Finding("e-mail", "problem", "SESSIONBOT_SMTP_URL has a port that is no number")
    if "@" not in settings.mail_from:
        return Finding("e-mail", "problem", "SESSIONBOT_MAIL_FROM is no address")
    shown = f"{parts.scheme}://{parts.hostname}:{port or (465 if parts.scheme == 'smtps' else 25)}"
    return Finding("e-mail", "ok", f"{shown}, from {settings.mail_from}")


def _stripe(settings: Settings) -> Finding:
    if not settings.stripe_api_key:
        return Finding("payments", "off", "the payment step is not offered (STRIPE_API_KEY)")
    if not _shape(settings.stripe_api_key, r"(sk|rk)_(test|live)_\w+"):
        return Finding("payments", "problem", "STRIPE_API_KEY is a secret key (sk_live_…)")
    if not _shape(settings.stripe_webhook_secret, r"whsec_\w+"):
        return Finding(
            "payments", "problem", "STRIPE_WEBHOOK_SECRET (whsec_…) is needed to learn of payments"
        )
    mode = "test mode" if "_test_" in settings.stripe_api_key else "live"
    return Finding("payments", "ok", f"Stripe, {mode}")


def _video(settings: Settings) -> Finding:
    if settings.video_provider != "jitsi":
        return Finding(
            "video", "problem", f"SESSIONBOT_VIDEO_PROVIDER {settings.video_provider!r}: use jitsi"
        )
    if bool(settings.video_app_id) != bool(settings.video_app_secret):
        return Finding(
            "video",
            "problem",
            "signed rooms need both SESSIONBOT_VIDEO_APP_ID and SESSIONBOT_VIDEO_APP_SECRET",
        )
    signed = ", rooms signed (JWT)" if settings.video_app_secret else ""
    return Finding("video", "ok", f"Jitsi at {settings.video_base_url}{signed}")


def _public_url(settings: Settings) -> Finding:
    parts = urlsplit(settings.public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Finding("links", "problem", "SESSIONBOT_PUBLIC_URL is https://HOST")
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not local:
        return Finding(
            "links", "problem", "SESSIONBOT_PUBLIC_URL must be https:// (participants open it)"
        )
    note = " (only this machine can open them)" if local else ""
    return Finding("links", "ok", f"participants open {settings.public_url}{note}")


def _actions(settings: Settings) -> Finding:
    if settings.actions_token:
        return Finding("actions", "ok", "the Rasa action server needs its token")
    return Finding(
        "actions", "off", "no SESSIONBOT_ACTIONS_TOKEN: `sessionbot actions` serves loopback only"
    )


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
