"""Many web processes and many workers on one PostgreSQL: 1, 2 and 4 of each.

    python bench/bench_scale.py [--db postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--web 1,2,4] [--clinicians 32] [--seconds 20] [--turn-processes 2]
        [--workers 1,2,4] [--messages-per-worker 150] [--latency-ms 100] [--part web|worker|both]

1. Conversations per second: N real `sessionbot serve` processes, each on a socket of its
   own handed over by this script (as tests/serve_process.py does), `--clinicians`
   clinicians at once, each holding whole scheduling conversations back to back (three
   signed DM events: the one-shot request, the participant's zone, "save"; each sent
   when the previous reply reached the fake Slack of tests/fake_slack.py). Every request
   goes to the next process round-robin, as a load balancer would, so the turns of one
   conversation meet different processes. A fresh clinician per conversation (the
   conversation then keeps one shape: no earlier contact, no overlap).
2. Messages sent per second: N real `sessionbot worker` processes started on an empty
   outbox, then `--messages-per-worker` x N text invitations queued in one transaction;
   timed from that commit to the last text accepted by the fake Twilio of
   tests/fake_twilio.py, which answers after `--latency-ms`. Every number is counted to
   find duplicates.

Each count against the single process of the same run (ratios: the machine is shared).
While measuring, every 0.5 s: PostgreSQL backends of the bench database by state and by
wait (pg_stat_activity), each process's connections to 5432 (its sockets, from /proc);
over the window: CPU seconds of every process (/proc/PID/stat: web processes, their turn
processes, workers, the bench database's backends, this script) and of the whole machine
(/proc/stat). Only 127.0.0.1; the database `sessionbot_bench_scale` is made at the start
of each part and dropped at the end. Every wait is bounded; the script stops by itself.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Person, signed_headers  # noqa: E402
from fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, start_fake_twilio  # noqa: E402

from ground.session import SessionSpec
from ground.settings import Settings  # noqa: E402
from scheduling import booking  # noqa: E402
from sessionbot.wiring import build  # noqa: E402
from store import (
    clinician_rows,  # noqa: E402
)
from store.db import Store  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "sessionbot_bench_scale"
KEY = Fernet.generate_key().decode()
TICK = os.sysconf("SC_CLK_TCK")
TURNS = ("JD tomorrow 3pm by text +1 617 555 0101, intake packet", "Pacific", "save")
TURN_TIMEOUT = 30.0  # seconds a reply may take before the conversation counts as failed
START_TIMEOUT = 90.0  # seconds a process may take to start


# The database -------------------------------------------------------------------------------


def admin_engine(admin_url: str) -> sa.Engine:
    return sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)


def fresh_db(admin_url: str) -> str:
    engine = admin_engine(admin_url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{DB_NAME}"')
    engine.dispose()
    url = sa.make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False)
    Store.open(url, [KEY], upgrade=True).dispose()
    return url


def drop_db(admin_url: str) -> None:
    engine = admin_engine(admin_url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    engine.dispose()


# /proc ----------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int, *, every: bool = False) -> list[int]:
    """The turn processes of a web process: multiprocessing's children, forked (the web
    process's own command line) or spawned; `every`: its resource tracker too."""
    try:
        own = (Path(f"/proc/{pid}") / "cmdline").read_bytes()
    except OSError:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            worker = b"spawn_main" in cmdline or cmdline == own
            if int(fields[1]) == pid and (worker or every):
                found.append(int(entry.name))
    return found


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK, sum(values[:8]) / TICK


def postgres_sockets() -> set[str]:
    """Inodes of this machine's TCP sockets connected to port 5432 (IPv4 and IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[2].endswith(":1538") and parts[3] == "01":  # remote :5432, ESTABLISHED
                inodes.add(parts[9])
    return inodes


def connections(pid: int, pg: set[str]) -> int:
    count = 0
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in pg:
                count += 1
    except OSError:
        pass
    return count


# Processes ------------------------------------------------------------------------------------


@dataclass
class Proc:
    role: str  # "web", "turns", "worker"
    proc: subprocess.Popen[bytes]
    log: Path
    url: str = ""
    helpers: list[int] = field(default_factory=list)  # a web process's turn processes


def base_env(folder: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONBOT_", "SLACK_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        SESSIONBOT_DATA_DIR=str(folder),
        SESSIONBOT_DATABASE_URL=db_url,
        SESSIONBOT_ENCRYPTION_KEY=KEY,
        **extra,
    )
    return env


def start_web(folder: Path, db_url: str, fake: FakeSlack, turn_processes: int, n: int) -> Proc:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port = listener.getsockname()[1]
    data = folder / f"web{n}"
    data.mkdir(parents=True, exist_ok=True)
    env = base_env(
        data,
        db_url,
        SESSIONBOT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.url,
    )
    log = folder / f"web{n}.log"
    cmd = [sys.executable, "-m", "sessionbot.cli", "serve"]
    cmd += ["--fd", str(listener.fileno()), "--turn-processes", str(turn_processes)]
    proc = subprocess.Popen(
        cmd,
        pass_fds=[listener.fileno()],
        env=env,
        cwd=data,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    listener.close()
    return Proc("web", proc, log, url=f"http://127.0.0.1:{port}")


def wait_healthy(p: Proc) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(base_url=p.url, timeout=5) as http:
        while time.monotonic() < deadline:
            if p.proc.poll() is not None:
                raise SystemExit(f"serve ended at start:\n{p.log.read_text()[-2000:]}")
            try:
                if http.get("/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise SystemExit(f"serve did not start in {START_TIMEOUT:.0f} s:\n{p.log.read_text()[-2000:]}")


def start_worker(folder: Path, db_url: str, twilio_url: str, n: int) -> Proc:
    data = folder / f"worker{n}"
    data.mkdir(parents=True, exist_ok=True)
    env = base_env(
        data,
        db_url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        SESSIONBOT_TWILIO_API_URL=twilio_url,
    )
    log = folder / f"worker{n}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessionbot.cli", "worker", "--poll", "0.2"],
        env=env,
        cwd=data,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return Proc("worker", proc, log)


def wait_running(p: Proc) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if p.proc.poll() is not None:
            raise SystemExit(f"worker ended at start:\n{p.log.read_text()[-2000:]}")
        if "running; SIGTERM stops it" in p.log.read_text():
            return
        time.sleep(0.1)
    raise SystemExit(f"worker did not start in {START_TIMEOUT:.0f} s:\n{p.log.read_text()}")


def stop_all(procs: list[Proc]) -> list[int]:
    for p in procs:
        if p.proc.poll() is None:
            p.proc.send_signal(signal.SIGTERM)
    codes = []
    for p in procs:
        try:
            codes.append(p.proc.wait(timeout=30))
        except subprocess.TimeoutExpired:
            p.proc.kill()
            codes.append(p.proc.wait(timeout=10))
    return codes


# Watching a window ------------------------------------------------------------------------


class Watch:
    """CPU of each process over a window, and PostgreSQL sampled every 0.5 s within it."""

    def __init__(self, db_url: str, procs: list[Proc]) -> None:
        self.engine = sa.create_engine(db_url, poolclass=sa.NullPool)
        self.procs = procs
        self.samples: list[dict[str, Any]] = []
        self.conns: dict[str, int] = Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _pids(self) -> dict[int, str]:
        pids = {}
        for p in self.procs:
            pids[p.proc.pid] = p.role
            for helper in p.helpers:
                pids[helper] = "turns"
        return pids

    def _backends(self) -> list[int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": DB_NAME},
            )
            return [r[0] for r in rows]

    def begin(self) -> None:
        self.t0 = time.monotonic()
        self.cpu0 = {pid: cpu_seconds(pid) for pid in self._pids()}
        self.backends0 = {pid: cpu_seconds(pid) for pid in self._backends()}
        self.self0 = time.process_time()
        self.machine0 = machine_busy()
        self.load0 = os.getloadavg()[0]
        self.thread.start()

    def _sample(self) -> None:
        query = sa.text(
            "SELECT count(*), "
            "count(*) FILTER (WHERE state = 'active'), "
            "count(*) FILTER (WHERE state = 'idle in transaction'), "
            "count(*) FILTER (WHERE wait_event_type = 'Lock'), "
            "count(*) FILTER (WHERE wait_event_type = 'LWLock'), "
            "count(*) FILTER (WHERE wait_event_type = 'IO') "
            "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
        )
        with self.engine.connect() as conn:
            while not self.stop.wait(0.5):
                row = conn.execute(query, {"db": DB_NAME}).one()
                conn.commit()
                self.samples.append(
                    dict(
                        zip(
                            ("total", "active", "idle_tx", "lock", "lwlock", "io"), row, strict=True
                        )
                    )
                )
                pg = postgres_sockets()
                per_role: Counter[str] = Counter()
                for pid, role in self._pids().items():
                    per_role[role] += connections(pid, pg)
                for role, n in per_role.items():
                    self.conns[role] = max(self.conns[role], n)

    def end(self) -> dict[str, Any]:
        self.stop.set()
        self.thread.join(5)
        wall = time.monotonic() - self.t0
        cpu: defaultdict[str, float] = defaultdict(float)
        rss: defaultdict[str, float] = defaultdict(float)
        for pid, role in self._pids().items():
            cpu[role] += cpu_seconds(pid) - self.cpu0.get(pid, 0.0)
            rss[role] += rss_mib(pid)
        cpu["postgres"] = sum(cpu_seconds(pid) - c for pid, c in self.backends0.items())
        cpu["bench"] = time.process_time() - self.self0
        busy, total = machine_busy()
        machine = (busy - self.machine0[0]) / wall
        self.engine.dispose()
        samples = self.samples or [{k: 0 for k in ("total", "active", "idle_tx", "lock")}]
        return {
            "wall": wall,
            "cores": {k: v / wall for k, v in cpu.items()},  # cores busy on average
            "machine_cores": machine,
            "ours_cores": sum(cpu.values()) / wall,
            "load": (self.load0, os.getloadavg()[0]),
            "pg_backends_max": max(s["total"] for s in samples),
            "pg_active_mean": statistics.mean(s["active"] for s in samples),
            "pg_active_max": max(s["active"] for s in samples),
            "pg_idle_tx_max": max(s["idle_tx"] for s in samples),
            "pg_lock_waits_max": max(s["lock"] for s in samples),
            "pg_lock_waits_mean": statistics.mean(s["lock"] for s in samples),
            "conns_max": dict(self.conns),
            "rss": dict(rss),
        }


def describe(w: dict[str, Any]) -> str:
    cores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(w["cores"].items()))
    conns = ", ".join(f"{k} {v}" for k, v in sorted(w["conns_max"].items()))
    rss = ", ".join(f"{k} {v:.0f}" for k, v in sorted(w["rss"].items()))
    return (
        f"    CPU (cores busy): {cores}; all ours {w['ours_cores']:.2f}; "
        f"whole machine {w['machine_cores']:.2f} of {os.cpu_count()} "
        f"(load {w['load'][0]:.1f} -> {w['load'][1]:.1f})\n"
        f"    PostgreSQL: backends max {w['pg_backends_max']}, active mean "
        f"{w['pg_active_mean']:.1f} max {w['pg_active_max']}, idle in transaction max "
        f"{w['pg_idle_tx_max']}, waiting on a lock mean {w['pg_lock_waits_mean']:.2f} max "
        f"{w['pg_lock_waits_max']}; connections held (max, by role): {conns}\n"
        f"    memory at the end (RSS MiB, all processes of a role): {rss}"
    )


# 1. Conversations through N web processes ---------------------------------------------------


class QuickSlack(FakeSlack):
    """The fake Slack without Block Kit validation (slack_sdk's models): the tests check the
    blocks; here the fake shares the bench's process and its CPU would be counted against
    the app. `--validate-blocks` puts it back."""

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        blocks = args.pop("blocks", None)
        body = super()._answer(method, args)
        if blocks is not None:
            args["blocks"] = blocks
            if method == "chat.postMessage" and body.get("ok"):
                self.messages[args["channel"]][-1].blocks = blocks
        return body

    def _view_problems(self, view: dict[str, Any]) -> list[str]:
        return []


def quiet_server(fake: FakeSlack) -> FakeSlack:
    """No traceback for a call whose caller hung up: a web process stopped at the end of
    its phase with a post to Slack in flight (socketserver prints each one)."""
    fake.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    return fake


@dataclass
class Conversation:
    started: float
    ended: float
    ok: bool
    turns: list[float]  # seconds from each request sent to its reply at the fake


class Traffic:
    """Clinicians holding conversations at once, requests spread round-robin."""

    def __init__(self, fake: FakeSlack, urls: list[str], tag: str) -> None:
        self.fake = fake
        self.urls = urls
        self.tag = tag
        self.next = itertools.count()
        self.lock = threading.Lock()
        self.done: list[Conversation] = []
        self.failures: Counter[str] = Counter()
        self.samples: list[list[str]] = []  # the replies of a few failed conversations

    def target(self) -> int:
        with self.lock:
            return next(self.next) % len(self.urls)

    def conversation(self, clients: list[httpx.Client], user: str, only: int | None) -> None:
        person = Person(None, self.fake, user)  # type: ignore[arg-type]
        channel = person.dm_channel
        started = time.monotonic()
        turns = []
        for i, text in enumerate(TURNS, 1):
            body, ctype = person.dm_body(text)
            sent = time.monotonic()
            index = self.target() if only is None else only
            try:
                response = clients[index].post(
                    "/slack/events", content=body, headers=signed_headers(body, ctype)
                )
            except httpx.HTTPError as exc:
                self.failures[f"request: {type(exc).__name__}"] += 1
                return
            if response.status_code != 200:
                self.failures[f"status {response.status_code}"] += 1
                return
            try:
                self.fake.wait(lambda: len(self.fake.channel(channel)) >= i, TURN_TIMEOUT)  # noqa: B023
            except AssertionError:
                self.failures[f"no reply to turn {i} in {TURN_TIMEOUT:.0f} s"] += 1
                return
            turns.append(time.monotonic() - sent)
        last = self.fake.channel(channel)[-1]
        ok = "Enter Meeting" in json.dumps(last.blocks) and len(self.fake.channel(channel)) == 3
        if not ok:
            self.failures["not saved (no Enter Meeting button)"] += 1
            if len(self.samples) < 3:
                self.samples.append([m.text[:160] for m in self.fake.channel(channel)])
        with self.lock:
            self.done.append(Conversation(started, time.monotonic(), ok, turns))

    def clinician(self, index: int, until: float, most: int, sticky: bool) -> None:
        clients = [httpx.Client(base_url=u, timeout=TURN_TIMEOUT) for u in self.urls]
        try:
            for n in range(most):
                if time.monotonic() >= until:
                    break
                only = self.target() if sticky else None
                self.conversation(clients, f"U{self.tag}C{index:03d}N{n:04d}", only)
        finally:
            for c in clients:
                c.close()


def web_phase(
    args: argparse.Namespace, folder: Path, db_url: str, fake: FakeSlack, n: int, tag: str
) -> dict[str, Any]:
    procs = [start_web(folder, db_url, fake, args.turn_processes, i) for i in range(n)]
    try:
        for p in procs:
            wait_healthy(p)
        traffic = Traffic(fake, [p.url for p in procs], tag)
        # Warm-up: one whole conversation on each process alone (auth.test, first turn).
        clients = [httpx.Client(base_url=p.url, timeout=TURN_TIMEOUT) for p in procs]
        for i in range(n):
            traffic.conversation(clients, f"U{tag}WARM{i}", i)
        for c in clients:
            c.close()
        if traffic.failures:
            raise SystemExit(f"warm-up failed: {dict(traffic.failures)}")
        traffic.done.clear()
        for p in procs:
            p.helpers = children(p.proc.pid)
        watch = Watch(db_url, procs)
        start = time.monotonic()
        window = (start + args.ramp, start + args.ramp + args.seconds)
        threads = [
            threading.Thread(
                target=traffic.clinician,
                args=(i, window[1], args.max_conversations, args.sticky),
                daemon=True,
            )
            for i in range(args.clinicians)
        ]
        for t in threads:
            t.start()
        time.sleep(args.ramp)
        watch.begin()
        time.sleep(max(0.0, window[1] - time.monotonic()))
        seen = watch.end()
        for t in threads:  # each ends within its conversation's bounded turns
            t.join(TURN_TIMEOUT * len(TURNS) + 5)
    finally:
        codes = stop_all(procs)
    inside = [c for c in traffic.done if window[0] <= c.ended <= window[1]]
    turns = sorted(t for c in inside for t in c.turns)
    return {
        "n": n,
        "conversations": len(inside),
        "saved": sum(c.ok for c in inside),
        "rate": sum(c.ok for c in inside) / args.seconds,
        "turn_p50": turns[len(turns) // 2] * 1000 if turns else float("nan"),
        "turn_p99": turns[min(len(turns) - 1, int(0.99 * len(turns)))] * 1000
        if turns
        else float("nan"),
        "conv_p50": statistics.median(c.ended - c.started for c in inside) if inside else 0,
        "failures": dict(traffic.failures),
        "failed_replies": traffic.samples,
        "exit_codes": codes,
        "watch": seen,
        "turn_processes": sum(len(p.helpers) for p in procs),
    }


# 2. Messages through N workers --------------------------------------------------------------


def queue_texts(db_url: str, folder: Path, count: int, area: int) -> float:
    """`count` sessions booked with a text invitation due now, in one transaction; returns
    the monotonic time of the commit."""
    settings = Settings.from_env(
        {
            "SESSIONBOT_DATA_DIR": str(folder / "queue"),
            "SESSIONBOT_DATABASE_URL": db_url,
            "SESSIONBOT_ENCRYPTION_KEY": KEY,
        }
    )
    parts = build(settings)
    now = datetime.now(UTC)
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_BENCH", f"U_AREA{area}")
        for i in range(count):
            draft = SessionSpec.for_one(
                draft_id=f"{area}-{i}",
                start=now + timedelta(days=3, minutes=i),
                duration_min=50,
                participant=f"P{i}",
                invite_channel="sms",
                email=None,
                phone=f"+1{area}555{i:04d}",
                participant_tz="America/Los_Angeles",
                documents=None,
                service=None,
                amount=None,
            )
            booking.book(s, clinician, draft, parts.practice, now)
    committed = time.monotonic()
    parts.store.dispose()
    return committed


def worker_phase(
    args: argparse.Namespace, folder: Path, db_url: str, fake: Any, n: int, area: int
) -> dict[str, Any]:
    count = args.messages_per_worker * n
    prefix = f"+1{area}"
    procs = [start_worker(folder, db_url, fake.url, i) for i in range(n)]
    try:
        for p in procs:
            wait_running(p)
        watch = Watch(db_url, procs)
        watch.begin()
        committed = queue_texts(db_url, folder, count, area)
        # Bounded: at least 10 texts/s overall, or the phase gives up.
        deadline = time.monotonic() + 30 + count / 10
        last = committed
        sent = 0
        while time.monotonic() < deadline:
            sent = sum(1 for m in fake.messages if m["To"].startswith(prefix))
            if sent >= count:
                last = time.monotonic()
                break
            time.sleep(0.02)
        seen = watch.end()
    finally:
        codes = stop_all(procs)
    elapsed = max(last - committed, 1e-9)
    return {
        "n": n,
        "messages": count,
        "sent": sent,
        "rate": sent / elapsed if sent >= count else float("nan"),
        "elapsed": elapsed,
        "exit_codes": codes,
        "watch": seen,
    }


# Main -------------------------------------------------------------------------------------


def per(r: dict[str, Any], seconds: float, without: str = "") -> float:
    """CPU milliseconds per saved conversation over the window."""
    w = r["watch"]
    cores = w["ours_cores"] - (w["cores"].get(without, 0.0) if without else 0.0)
    return 1000 * cores * w["wall"] / max(r["saved"], 1)


def per_text(r: dict[str, Any], role: str) -> float:
    """CPU milliseconds of `role` per text sent over the window."""
    w = r["watch"]
    return 1000 * w["cores"].get(role, 0.0) * w["wall"] / max(r["sent"], 1)


def counts(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def run_web(args: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    db_url = fresh_db(args.db)
    fake = quiet_server((FakeSlack if args.validate_blocks else QuickSlack)()).start()
    results = []
    try:
        for round_ in range(args.rounds):
            for n in counts(args.web):
                tag = f"R{round_}W{n}"
                r = web_phase(args, folder, db_url, fake, n, tag)
                results.append(r)
                print(
                    f"web x{n} ({r['turn_processes']} turn processes): {r['saved']} conversations "
                    f"saved in {args.seconds:.0f} s = {r['rate']:.2f}/s; turn p50 "
                    f"{r['turn_p50']:.0f} ms p99 {r['turn_p99']:.0f} ms; conversation p50 "
                    f"{r['conv_p50']:.2f} s; failures {r['failures'] or 0}; "
                    f"exit {r['exit_codes']}; "
                    f"CPU per saved conversation {per(r, args.seconds):.0f} ms (all ours), "
                    f"{per(r, args.seconds, 'bench'):.0f} ms (without this script and its fakes)",
                    flush=True,
                )
                print(describe(r["watch"]), flush=True)
                for replies in r["failed_replies"]:
                    print(f"    a failed conversation's replies: {replies}", flush=True)
    finally:
        fake.stop()
        if fake.problems:
            print(f"Slack payload problems: {fake.problems[:5]}")
    return results


def run_workers(args: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    db_url = fresh_db(args.db)
    fake, server = start_fake_twilio()
    fake.latency = args.latency_ms / 1000
    results = []
    areas = iter(range(201, 999))
    try:
        for _round in range(args.rounds):
            for n in counts(args.workers):
                r = worker_phase(args, folder, db_url, fake, n, next(areas))
                results.append(r)
                print(
                    f"worker x{n}: {r['sent']}/{r['messages']} texts in {r['elapsed']:.2f} s = "
                    f"{r['rate']:.1f}/s; exit {r['exit_codes']}; CPU per text "
                    f"{per_text(r, 'worker'):.1f} ms (workers), "
                    f"{per_text(r, 'postgres'):.1f} ms (PostgreSQL)",
                    flush=True,
                )
                print(describe(r["watch"]), flush=True)
    finally:
        server.shutdown()
        server.server_close()
    per_number = Counter(m["To"] for m in fake.messages)
    duplicates = sum(c - 1 for c in per_number.values())
    print(f"texts accepted {len(fake.messages)}, duplicates {duplicates}")
    return results


def ratios(name: str, results: list[dict[str, Any]], unit: str) -> None:
    base = [r["rate"] for r in results if r["n"] == 1]
    if not base:
        return
    one = statistics.mean(base)
    by_n: dict[int, list[float]] = {}
    for r in results:
        by_n.setdefault(r["n"], []).append(r["rate"])
    line = ", ".join(
        f"x{n}: {statistics.mean(v):.2f}{unit} = {statistics.mean(v) / one:.2f}x"
        for n, v in sorted(by_n.items())
    )
    print(f"{name} against 1 process: {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL URL to connect as (the bench makes and drops its own database)",
    )
    parser.add_argument("--part", choices=("web", "worker", "both"), default="both")
    parser.add_argument("--web", default="1,2,4", help="web process counts, in order")
    parser.add_argument("--workers", default="1,2,4", help="worker counts, in order")
    parser.add_argument("--rounds", type=int, default=1, help="times each list is run")
    parser.add_argument("--clinicians", type=int, default=32, help="conversations at once")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per phase")
    parser.add_argument("--ramp", type=float, default=4.0, help="seconds of load before it")
    parser.add_argument("--max-conversations", type=int, default=500, help="per clinician")
    parser.add_argument("--turn-processes", type=int, default=2, help="per web process")
    parser.add_argument(
        "--sticky",
        action="store_true",
        help="all turns of a conversation to one process (conversations still round-robin)",
    )
    parser.add_argument("--validate-blocks", action="store_true", help="check Block Kit too")
    parser.add_argument("--messages-per-worker", type=int, default=150)
    parser.add_argument("--latency-ms", type=float, default=100.0, help="the fake Twilio's")
    args = parser.parse_args()
    host = sa.make_url(args.db).host
    if host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--db must be on 127.0.0.1")
    print(
        f"machine: {os.cpu_count()} cores, {os.uname().machine}, Python "
        f"{sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder = Path(tmp)
        try:
            if args.part in ("web", "both"):
                ratios("conversations/s", run_web(args, folder), "/s")
            if args.part in ("worker", "both"):
                ratios("texts/s", run_workers(args, folder), "/s")
        finally:
            drop_db(args.db)
    print(f"took {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
