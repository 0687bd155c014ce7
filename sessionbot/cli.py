"""The `sessionbot` command: shell, sessions, nlu, db, actions (and the web and worker).

A fault that stops everything (the store refused: no key, the wrong key; the database
gone) ends the command with one line on standard error and exit status 1.

Settings are read here, once, and passed down.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, TypedDict, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ground.jsontypes import JSON
from ground.logs import configure_logging
from ground.settings import Settings
from sessionbot.commands import DEFAULT_USER, LOCAL_TEAM, add_as

if TYPE_CHECKING:  # for annotations only: the commands import their parts when run
    from actions.extraction.message import Extracted
    from ground.practice import Practice
    from scheduling.participants import ParticipantRecord
    from store.models import ScheduledSession


class Command(Protocol):
    """A command of its own module (sessionbot/commands/)."""

    NAME: str

    def add_parser(self, sub: argparse._SubParsersAction) -> None: ...

    def run(self, args: argparse.Namespace, settings: Settings) -> int: ...


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"unknown time zone {value!r}") from exc
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sessionbot", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of a configuration or database error (one line without)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    shell = sub.add_parser("shell", help="the scheduling conversation in a terminal")
    shell.add_argument("--user", default=DEFAULT_USER, help="clinician id (default %(default)s)")
    shell.add_argument("--team", default=LOCAL_TEAM, help=argparse.SUPPRESS)
    shell.add_argument("--tz", type=_zone, help="the clinician's time zone (IANA)")
    add_as(shell)

    sessions = sub.add_parser("sessions", help="the dashboard in a terminal")
    sessions.add_argument("--user", default=DEFAULT_USER, help="clinician id (default %(default)s)")
    sessions.add_argument(
        "--team",
        default=LOCAL_TEAM,
        help="the clinician's workspace (default %(default)s, the shell's); a Rasa sender "
        "TEAM:USER is --team TEAM --user USER",
    )
    sessions.add_argument("--json", action="store_true", help="a JSON list of sessions")
    sessions.add_argument("--all", action="store_true", help="include past and cancelled")
    add_as(sessions)

    nlu = sub.add_parser("nlu", help="what extraction finds in each text, as JSON lines")
    nlu.add_argument("--now", help="wall time in --tz (ISO 8601; default: now)")
    nlu.add_argument("--tz", type=_zone, help="the clinician's zone (default: the practice's)")
    nlu.add_argument("text", nargs="*", help="texts (default: lines of standard input)")

    db = sub.add_parser("db", help="database migrations")
    db.add_argument(
        "action", choices=["upgrade"], help="upgrade: bring the schema up to this version"
    )

    actions = sub.add_parser("actions", help="rasa-sdk action server for a Rasa assistant")
    where = actions.add_mutually_exclusive_group()
    where.add_argument(
        "--port", type=int, default=5055, help="port to listen on (default %(default)s)"
    )
    where.add_argument(
        "--fd",
        type=int,
        help="serve on this already bound and listening socket (a supervisor's, a test's)",
    )
    actions.add_argument(
        "--host",
        default=None,
        help="address to listen on (default $SANIC_HOST or 127.0.0.1; any other than "
        "loopback needs SESSIONBOT_ACTIONS_TOKEN)",
    )

    for extra in _extra_commands():
        extra.add_parser(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sessionbot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _extra_commands() -> list[Command]:
    """Commands of the other processes (web, worker, outbox), each in its own module."""
    import importlib

    found: list[Command] = []
    names = ("serve", "manifest", "worker", "outbox", "cancel", "reschedule", "keys", "check")
    for name in (
        *names,
        "next",
        "remind",
        "agenda",
        "requests",
        "calendar_url",
        "audit",
        "forget",
        "retention",
        "hours",
        "roles",
    ):
        try:
            found.append(cast(Command, importlib.import_module(f"sessionbot.commands.{name}")))
        except ModuleNotFoundError as exc:
            if exc.name != f"sessionbot.commands.{name}" and exc.name != "sessionbot.commands":
                raise
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "actions" and args.fd is not None and args.host is not None:
        parser.error("actions: --host and --fd: the socket handed over is already bound")
    long_running = args.command in ("serve", "worker", "actions")
    configure_logging(default="INFO" if long_running else "WARNING", background=long_running)
    if long_running:
        from ground.metrics import ErrorCounter

        logging.getLogger().addHandler(ErrorCounter())
    try:
        return _dispatch(args, Settings.from_env())
    except KeyboardInterrupt:
        print(f"sessionbot {args.command}: stopped", file=sys.stderr)
        return 0
    except BrokenPipeError:  # `sessionbot sessions --json | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 1
    except Exception as exc:
        words = refusal(exc)
        if words is not None:  # a staff member's role does not allow it (audited)
            print(words, file=sys.stderr)
            return REFUSED
        fault = stopping_fault(exc)
        if fault is None or args.debug:
            raise
        code, line = fault
        print(f"sessionbot {args.command}: {line}", file=sys.stderr)
        return code


BAD_CONFIGURATION = 2  # as argparse does for a bad command line
STOPPED = 1
REFUSED = 4  # `--as C`: the role of --user does not allow it


def refusal(exc: BaseException) -> str | None:
    """The words of a refusal by role (scheduling/roles.py), else None."""
    from scheduling.roles import Refused

    return exc.words if isinstance(exc, Refused) else None


def stopping_fault(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, one line) for what stops the command before or while it works: a
    setting that cannot be used (2: say which and what to do), the store unreachable (1).
    None for anything else: a bug, whose traceback is wanted."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from ground.practice import PracticeFileError
    from ground.settings import ConfigError
    from store.db import StoreOpenError

    if isinstance(exc, ConfigError | PracticeFileError | StoreOpenError):
        return BAD_CONFIGURATION, str(exc).splitlines()[0]
    if isinstance(exc, OperationalError | InterfaceError):
        # The driver's first line ("connection refused", "unable to open database
        # file"); never the statement or its parameters.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return STOPPED, f"the database cannot be reached ({reason}); stopping"
    return None


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "shell":
        return cmd_shell(args, settings)
    if args.command == "sessions":
        return cmd_sessions(args, settings)
    if args.command == "nlu":
        return cmd_nlu(args, settings)
    if args.command == "db":
        from actions.context import open_store

        store = open_store(settings, for_upgrade=True)
        store.upgrade()
        store.check_keys()  # a store from before the key check gets its canary now
        print(f"database is up to date ({store.engine.url.render_as_string(hide_password=True)})")
        return 0
    if args.command == "actions":
        if args.host is None:
            from sessionbot.action_server import default_host

            args.host = default_host()
        from actions.context import open_store
        from sessionbot.action_server import BindRefused, check_bind

        try:  # before the store is opened: a refused server makes nothing, not even a folder
            check_bind(_actions_host(args), settings)
        except BindRefused as exc:
            print(exc, file=sys.stderr)
            return 2
        open_store(settings).dispose()  # keys checked here: the servers' workers build later
        return cmd_actions(args, settings)
    for extra in _extra_commands():
        if args.command == extra.NAME:
            return int(extra.run(args, settings) or 0)
    return 2


# shell ---------------------------------------------------------------------------------


def cmd_shell(args: argparse.Namespace, settings: Settings) -> int:
    from dialogue.shell import Shell
    from scheduling.service import Actor
    from sessionbot.wiring import build

    parts = build(settings)
    tz = parts.practice.zone_of(args.tz)
    if args.for_user:  # refused (in words, audited) unless --user may book for them
        parts.scheduler.may_act(Actor(args.team, args.user, for_user=args.for_user))
    elif settings.is_embedded_default:  # the first shell user is the practice's admin
        parts.scheduler.first_admin(args.team, args.user)
    shell = Shell(
        parts.runner, team=args.team, user=args.user, tz=tz, settings=settings,
        for_user=args.for_user,
    )  # fmt: skip
    return shell.run(sys.stdin, sys.stdout)


# sessions ------------------------------------------------------------------------------


class SessionRecord(TypedDict):
    """One session in `sessions --json`."""

    id: str
    start: str  # ISO 8601, UTC
    duration_min: int
    participant: str  # "erased" once erased
    invite_channel: str
    email: str | None
    phone: str | None  # E.164
    erased: bool
    participant_tz: str  # IANA
    documents: str | None
    service: str | None
    amount: str | None  # a decimal string
    currency: str
    status: str
    invite_status: str
    rsvp: str | None
    payment_status: str
    amount_refunded: str | None
    refund: str | None
    refund_amount: str | None
    enter_meeting_url: str | None
    participant_url: str | None
    series_id: str | None
    reminded_at: str | None
    participants: list[ParticipantRecord]


def session_record(session: ScheduledSession, practice: Practice, public_url: str) -> SessionRecord:
    from scheduling import booking, participants

    return {
        "id": session.public_id,
        "start": session.start_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "duration_min": session.duration_min,
        "participant": "erased" if session.erased_at is not None else session.participant,
        "invite_channel": session.invite_channel,
        "email": session.email,
        "phone": session.phone,
        "erased": session.erased_at is not None,
        "participant_tz": session.participant_tz,
        "documents": session.documents,
        "service": session.service,
        "amount": (
            str((Decimal(session.amount_cents) / 100).quantize(Decimal("0.01")))
            if session.amount_cents is not None
            else None
        ),
        "currency": session.currency,
        "status": session.status,
        "invite_status": session.invite_status,
        "rsvp": session.rsvp,
        "payment_status": session.payment_status,
        "amount_refunded": (
            str((Decimal(session.refunded_cents) / 100).quantize(Decimal("0.01")))
            if session.refunded_cents
            else None
        ),
        # A paid cancellation's refund: pending | refunded | failed | kept (none chosen).
        "refund": session.refund_state,
        "refund_amount": (
            str((Decimal(session.refund_cents) / 100).quantize(Decimal("0.01")))
            if session.refund_state and session.refund_cents is not None
            else None
        ),
        # None: a supervisor's read (scheduling/roles.py), no way into the room or page.
        "enter_meeting_url": booking.enter_meeting_url(public_url, session)
        if session.host_token
        else None,
        "participant_url": booking.participant_url(public_url, session) if session.token else None,
        "series_id": session.series_id,
        "reminded_at": (
            session.reminded_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
            if session.reminded_at
            else None
        ),
        "participants": participants.records(session, public_url, practice.language),
    }


def cmd_sessions(args: argparse.Namespace, settings: Settings) -> int:
    from ground.formatting import money, when
    from scheduling.service import Actor
    from sessionbot.wiring import build

    parts = build(settings)
    rows, tz = parts.scheduler.sessions(
        Actor(args.team, args.user, for_user=args.for_user), include_past=args.all, export=args.json
    )
    records = [session_record(r, parts.practice, settings.public_url) for r in rows]
    if args.json:
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not records:
        print("No upcoming sessions.")
        return 0
    for r in records:
        start = datetime.fromisoformat(r["start"].replace("Z", "+00:00"))
        pay = "" if r["amount"] is None else f"  {money(r['amount'])} {r['payment_status']}"
        print(f"{when(start, tz)}  {r['participant']}  [{r['status']}]")
        print(
            f"    invitation: {r['invite_channel']} ({r['invite_status']})"
            f"  rsvp: {r['rsvp'] or '-'}{pay}"
        )
        if r["enter_meeting_url"]:
            print(f"    Enter Meeting: {r['enter_meeting_url']}")
    return 0


# nlu -----------------------------------------------------------------------------------


def nlu_record(text: str, found: Extracted) -> dict[str, JSON]:
    from dialogue.slots import encode

    record: dict[str, JSON] = {"text": text, **encode(found.slots())}
    # What else the conversation would act on or say back, only when there is any.
    shift = getattr(found, "shift", None)
    if shift is not None:
        record["shift"] = encode(shift)
    for extra in ("problems", "choices", "notes", "unread"):
        value = getattr(found, extra, None)
        if value:
            record[extra] = encode(value)
    return record


def cmd_nlu(args: argparse.Namespace, settings: Settings) -> int:
    from ground.practice import load_practice
    from sessionbot.wiring import make_nlu

    practice = load_practice(settings.practice_file)
    tz = ZoneInfo(practice.zone_of(args.tz))
    if args.now:
        now = datetime.fromisoformat(args.now)
        now = now.replace(tzinfo=tz) if now.tzinfo is None else now.astimezone(tz)
    else:
        now = datetime.now(tz)
    nlu = make_nlu(practice)
    texts = args.text or (line.rstrip("\n") for line in sys.stdin)
    for text in texts:
        print(json.dumps(nlu_record(text, nlu(text, now, None, None, None)), ensure_ascii=False))
    return 0


# actions -------------------------------------------------------------------------------


def _actions_host(args: argparse.Namespace) -> str:
    """The address the action server will listen on: --host, or the handed-over socket's."""
    if args.fd is None:
        return str(args.host)
    import socket

    sock = socket.socket(fileno=args.fd)
    try:
        return str(sock.getsockname()[0])
    finally:
        sock.detach()  # the socket stays open, for the server


def cmd_actions(args: argparse.Namespace, settings: Settings) -> int:
    from sessionbot.action_server import BindRefused, serve

    try:
        serve(args.host, args.port, fd=args.fd, settings=settings)
    except BindRefused as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
