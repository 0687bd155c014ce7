"""One typed settings object, read once at the edge (CLI, app factory) and passed in.

Secrets come only from the environment; everything else has a working default, so a
new user gets the embedded SQLite store and a local outbox with no accounts at all.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from dotenv import dotenv_values


def default_data_dir(env: Mapping[str, str]) -> Path:
    """The user's data folder: $SESSIONBOT_DATA_DIR, else XDG data home."""
    if env.get("SESSIONBOT_DATA_DIR"):
        return Path(env["SESSIONBOT_DATA_DIR"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sessionbot"


def default_database_url(data_dir: Path) -> str:
    """The embedded store: a SQLite file in the data folder."""
    return f"sqlite:///{data_dir / 'sessionbot.db'}"


SECRET_FIELDS = frozenset(
    {
        "encryption_keys",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_client_secret",
        "slack_app_token",
        "twilio_auth_token",
        "stripe_api_key",
        "stripe_webhook_secret",
        "video_app_secret",
        "actions_token",
    }
)
URL_FIELDS = frozenset({"database_url", "smtp_url"})


def _networks(value: str) -> tuple[str, ...]:
    """`SESSIONBOT_TRUSTED_PROXIES`: comma-separated addresses or CIDRs, each checked."""
    found = []
    for item in (v.strip() for v in value.split(",")):
        if not item:
            continue
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(
                f"SESSIONBOT_TRUSTED_PROXIES: {item[:50]!r} is not an address or CIDR"
            ) from None
    return tuple(found)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class ConfigError(ValueError):
    """A setting that cannot be used; `str()` is one line naming it and what to do."""


def number(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0) -> float:
    """A numeric setting: its default when unset, else a number of at least `minimum`."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= minimum or value == float("inf"):  # NaN compares false
        raise ConfigError(f"{name} must be a number of at least {minimum:g}, not {raw[:40]!r}")
    return value


def check_database_url(url: str) -> None:
    """Refuse what is not a database URL SQLAlchemy can use (the password never shown)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    hint = "postgresql+psycopg://USER:PASSWORD@HOST:5432/DB or sqlite:///PATH"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"SESSIONBOT_DATABASE_URL is not a database URL (use {hint})") from None
    if parsed.get_backend_name() not in ("postgresql", "sqlite"):
        raise ConfigError(
            f"SESSIONBOT_DATABASE_URL names {parsed.get_backend_name()!r}: sessionbot runs on "
            f"PostgreSQL or SQLite ({hint})"
        )


@dataclass(frozen=True, repr=False)
class Settings:
    data_dir: Path
    database_url: str
    encryption_keys: tuple[str, ...] = ()
    public_url: str = "http://localhost:8000"
    practice_file: Path | None = None
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_url: str | None = None
    smtp_url: str | None = None
    smtp_ca_file: str | None = None
    mail_from: str = "sessionbot <no-reply@localhost>"
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_url: str | None = None
    video_provider: str = "jitsi"
    video_base_url: str = "https://meet.jit.si"
    video_app_id: str | None = None
    video_app_secret: str | None = None
    # How long a Slack request's claim lasts unless its process renews it (a heartbeat
    # every quarter of it while the work runs, and a sweep as often): a dead process's
    # request is run again by another process within this and one sweep (8 + 2 s).
    slack_inbox_lease_seconds: float = 8.0
    # The outbox worker: sends in flight at once per channel, an optional rate of ours
    # (sends a second, 0: none), and how long a claimed batch is held (sessionbot/sending.py).
    worker_sms_concurrency: int = 16
    worker_email_concurrency: int = 8
    worker_slack_concurrency: int = 4
    worker_sms_rate: float = 0.0
    worker_email_rate: float = 0.0
    worker_slack_rate: float = 0.0
    outbox_lease_seconds: float = 8.0  # renewed by the worker's heartbeat every quarter
    # A server database's connections per process: kept open, and more for a burst
    # (README: sizing them, and PgBouncer).
    db_pool_size: int = 10
    db_max_overflow: int = 20
    # The shared secret Rasa's `action_endpoint` sends (`token:` in endpoints.yml, as
    # `?token=`); `sessionbot actions` refuses every call without it.
    actions_token: str | None = None
    # The largest call `sessionbot actions` reads (Rasa posts the whole tracker: ~4.9 KB
    # a turn, bench/bench_tracker_size.py); bigger ones get 413 before they are parsed.
    actions_max_body: int = 1024 * 1024
    # How long `serve` waits for a request's headers and body before closing the
    # connection (an idle keep-alive connection is closed after 5 seconds).
    request_timeout_seconds: float = 15.0
    # The reverse proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto are believed;
    # from anyone else those headers are ignored. Default: none.
    trusted_proxies: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        """Build settings from a mapping (default: `.env` overlaid by os.environ)."""
        if env is None:
            merged: dict[str, str] = {}
            if dotenv and Path(".env").is_file():
                merged.update({k: v for k, v in dotenv_values(".env").items() if v is not None})
            merged.update(os.environ)
            env = merged
        data_dir = default_data_dir(env)
        database_url = env.get("SESSIONBOT_DATABASE_URL") or default_database_url(data_dir)
        check_database_url(database_url)
        keys = tuple(
            k.strip() for k in env.get("SESSIONBOT_ENCRYPTION_KEY", "").split(",") if k.strip()
        )
        practice = env.get("SESSIONBOT_PRACTICE_FILE")

        def get(name: str) -> str | None:
            return env.get(name) or None

        return cls(
            data_dir=data_dir,
            database_url=database_url,
            encryption_keys=keys,
            public_url=(env.get("SESSIONBOT_PUBLIC_URL") or "http://localhost:8000").rstrip("/"),
            practice_file=Path(practice).expanduser() if practice else None,
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_client_id=get("SLACK_CLIENT_ID"),
            slack_client_secret=get("SLACK_CLIENT_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=get("SLACK_API_URL"),
            twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
            twilio_from_number=get("TWILIO_FROM_NUMBER"),
            twilio_messaging_service_sid=get("TWILIO_MESSAGING_SERVICE_SID"),
            twilio_api_url=get("SESSIONBOT_TWILIO_API_URL"),
            smtp_url=get("SESSIONBOT_SMTP_URL"),
            smtp_ca_file=get("SESSIONBOT_SMTP_CA_FILE"),
            mail_from=env.get("SESSIONBOT_MAIL_FROM") or "sessionbot <no-reply@localhost>",
            stripe_api_key=get("STRIPE_API_KEY"),
            stripe_webhook_secret=get("STRIPE_WEBHOOK_SECRET"),
            stripe_api_url=get("SESSIONBOT_STRIPE_API_URL"),
            video_provider=env.get("SESSIONBOT_VIDEO_PROVIDER") or "jitsi",
            video_base_url=(env.get("SESSIONBOT_VIDEO_URL") or "https://meet.jit.si").rstrip("/"),
            video_app_id=get("SESSIONBOT_VIDEO_APP_ID"),
            video_app_secret=get("SESSIONBOT_VIDEO_APP_SECRET"),
            slack_inbox_lease_seconds=number(env, "SESSIONBOT_SLACK_INBOX_LEASE", 8.0, minimum=1),
            worker_sms_concurrency=int(
                number(env, "SESSIONBOT_WORKER_SMS_CONCURRENCY", 16, minimum=1)
            ),
            worker_email_concurrency=int(
                number(env, "SESSIONBOT_WORKER_EMAIL_CONCURRENCY", 8, minimum=1)
            ),
            worker_slack_concurrency=int(
                number(env, "SESSIONBOT_WORKER_SLACK_CONCURRENCY", 4, minimum=1)
            ),
            worker_sms_rate=number(env, "SESSIONBOT_WORKER_SMS_RATE", 0.0),
            worker_email_rate=number(env, "SESSIONBOT_WORKER_EMAIL_RATE", 0.0),
            worker_slack_rate=number(env, "SESSIONBOT_WORKER_SLACK_RATE", 0.0),
            outbox_lease_seconds=number(env, "SESSIONBOT_OUTBOX_LEASE", 8.0, minimum=1),
            db_pool_size=int(number(env, "SESSIONBOT_DB_POOL_SIZE", 10, minimum=1)),
            db_max_overflow=int(number(env, "SESSIONBOT_DB_MAX_OVERFLOW", 20, minimum=0)),
            actions_token=get("SESSIONBOT_ACTIONS_TOKEN"),
            actions_max_body=int(
                number(env, "SESSIONBOT_ACTIONS_MAX_BODY", 1024 * 1024, minimum=1024)
            ),
            request_timeout_seconds=number(env, "SESSIONBOT_REQUEST_TIMEOUT", 15.0, minimum=1),
            trusted_proxies=_networks(env.get("SESSIONBOT_TRUSTED_PROXIES") or ""),
            extra={k: v for k, v in env.items() if k.startswith("SESSIONBOT_")},
        )

    def __repr__(self) -> str:
        """Every field, with secrets shown only as set or not (a repr reaches logs and
        tracebacks); URLs lose their passwords; `extra` shows only its keys."""
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                value = "'***'" if value else None
            elif f.name in URL_FIELDS and isinstance(value, str):
                value = repr(_without_password(value))
            elif f.name == "extra":
                value = sorted(value)
            else:
                value = repr(value)
            shown.append(f"{f.name}={value}")
        return f"Settings({', '.join(shown)})"

    __str__ = __repr__

    @property
    def is_embedded_default(self) -> bool:
        """The SQLite file in the data folder (the one store that makes its own key file)."""
        return self.database_url == default_database_url(self.data_dir)

    @property
    def is_embedded(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def payments_configured(self) -> bool:
        return bool(self.stripe_api_key)

    @property
    def sms_configured(self) -> bool:
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token
            and (self.twilio_from_number or self.twilio_messaging_service_sid)
        )

    @property
    def email_configured(self) -> bool:
        return bool(self.smtp_url)
