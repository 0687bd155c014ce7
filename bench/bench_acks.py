"""Slack's ack at rising event rates: one `serve` process against a bare Bolt app.

    python bench/bench_acks.py [--rates 20,40,80,160] [--seconds 4] [--db sqlite|URL]
        [--profile FILE] [--memory N] [--turn-processes 2]

Both are real processes on 127.0.0.1, each on a socket handed over by this script, both
Bolt on the same Starlette adapter under uvicorn, both calling the same fake Slack
(tests/fake_slack.py, without Block Kit checks). Ours: `sessionbot serve` (2 turn
processes, the durable inbox: each event written before its ack) on SQLite in a temp
folder or on a PostgreSQL database of its own (`sessionbot_bench_acks`, made and
dropped). Bare: a Bolt `AsyncApp` that acks each DM and echoes it from a lazy listener
(`--bare-inline-ack`: with `process_before_response=True`, as ours), bench/bare_bolt.py.

At each rate, signed DM events (each a new event id, from 200 clinicians in turn) are
sent open-loop for `--seconds`: every request starts on its schedule whether the earlier
ones were answered or not, as Slack sends them; the ack time is the HTTP round trip. Then
the app is given time to drain its turns before the next rate. Ours and bare alternate
rate by rate. Reported per rate: p50, p99, acks over 3 s (Slack's limit), failures; and
the highest rate each held with p99 < 100 ms.

`--memory N` (after the rates): N more DMs at 20/s to each, drained, then the resident
memory of ours (the web process and every child of it: the turn processes, and
multiprocessing's resource tracker when they are spawned) and of bare: RSS, and PSS
(/proc/PID/smaps_rollup, shared pages divided among the processes sharing them: the fair
sum for turn processes forked from the web process, whose RSS each count those pages).

`--cpu N` (after the rates): every one of the 200 clinicians speaks once, then N more DMs
at 40/s to each app, drained: CPU time (user + system, /proc/PID/stat) per DM of ours'
web process, of its turn processes, and of bare. Steadier than latency on a shared
machine. `--py-spy FILE` records the web process meanwhile (py-spy on PATH: its collapsed
stacks, per thread, to FILE).

`--profile FILE`: ours runs under pyinstrument (the event loop's thread, which acks);
the text report goes to FILE when it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import bench_scale as kit  # noqa: E402
from fake_slack import APP_ID, BOT_TOKEN, BOT_USER, SIGNING_SECRET, signed_headers  # noqa: E402

from store.db import Store  # noqa: E402

kit.DB_NAME = "sessionbot_bench_acks"
ROOT = Path(__file__).resolve().parents[1]
_ids = itertools.count(1)


def start_bare(folder: Path, slack_url: str, inline: bool) -> kit.Proc:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port = listener.getsockname()[1]
    log = folder / "bare.log"
    cmd = [sys.executable, str(Path(__file__).with_name("bare_bolt.py"))]
    cmd += [str(listener.fileno()), slack_url, BOT_TOKEN, SIGNING_SECRET]
    proc = subprocess.Popen(
        cmd + (["--inline-ack"] if inline else []),
        pass_fds=[listener.fileno()],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    listener.close()
    return kit.Proc("bare", proc, log, url=f"http://127.0.0.1:{port}")


def start_ours(
    folder: Path, db_url: str, slack_url: str, profile: str | None, turn_processes: int = 2
) -> kit.Proc:
    fake = type("F", (), {"url": slack_url})()
    p = kit.start_web(folder, db_url, fake, turn_processes, 0)
    if profile is None:
        return p
    # The same, under pyinstrument: stop the plain one, start the profiled one.
    kit.stop_all([p])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port = listener.getsockname()[1]
    env = kit.base_env(
        folder / "web0",
        db_url,
        SESSIONBOT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_url,
    )
    log = folder / "ours.log"
    cmd = [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", profile, "--show-all"]
    cmd += ["-m", "sessionbot.cli", "serve", "--fd", str(listener.fileno())]
    proc = subprocess.Popen(
        cmd,
        pass_fds=[listener.fileno()],
        env=env,
        cwd=folder / "web0",
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    listener.close()
    return kit.Proc("web", proc, log, url=f"http://127.0.0.1:{port}")


def wait_up(p: kit.Proc) -> None:
    deadline = time.monotonic() + kit.START_TIMEOUT
    with httpx.Client(base_url=p.url, timeout=5) as http:
        while time.monotonic() < deadline:
            if p.proc.poll() is not None:
                raise SystemExit(f"{p.role} ended at start:\n{p.log.read_text()[-2000:]}")
            try:
                http.post("/slack/events", content="{}")  # any answer: it listens
                return
            except httpx.HTTPError:
                time.sleep(0.1)
    raise SystemExit(f"{p.role} did not start")


def dm_body(n: int) -> str:
    user = f"U_ACK{n % 200:03d}"
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": APP_ID,
            "event_id": f"EvAck{next(_ids):09d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": "D" + user.removeprefix("U"),
                "user": user,
                "text": "JD tomorrow 3pm by text +1 617 555 0101, intake packet",
                "ts": f"{time.time():.6f}",
                "client_msg_id": f"m{next(_ids)}",
            },
        }
    )


async def burst(url: str, rate: float, seconds: float) -> dict[str, Any]:
    """Open-loop: request i starts at i / rate."""
    count = int(rate * seconds)
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    times: list[float] = []
    failed = 0
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:

        async def one(i: int, at: float) -> None:
            nonlocal failed
            body = dm_body(i)
            headers = signed_headers(body, "application/json")
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            began = time.monotonic()
            try:
                answer = await http.post("/slack/events", content=body, headers=headers)
                if answer.status_code != 200:
                    failed += 1
            except httpx.HTTPError:
                failed += 1
            times.append((time.monotonic() - began) * 1000)

        start = time.monotonic() + 0.2
        await asyncio.gather(*(one(i, start + i / rate) for i in range(count)))
    times.sort()
    return {
        "n": count,
        "p50": statistics.median(times),
        "p99": times[min(len(times) - 1, int(0.99 * len(times)))],
        "over3s": sum(1 for t in times if t > 3000),
        "failed": failed,
    }


def drain(fake: Any, quiet: float = 1.0, limit: float = 90.0) -> None:
    """Until no call reached the fake Slack for `quiet` seconds (the turns are done)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = len(fake.calls)
        time.sleep(quiet)
        if len(fake.calls) == before:
            return


def pss_mib(pid: int) -> float:
    """Proportional set size: shared pages divided among the processes that share them."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:  # gone, or no such file on this kernel: counted as nothing
        return 0.0
    for line in lines:
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_per_dm(fake: Any, ours: kit.Proc, bare: kit.Proc, n: int, spy: str | None) -> None:
    """CPU milliseconds per DM of each process, `n` DMs at 40/s after all clinicians spoke."""
    for p in (ours, bare):  # each of the 200 clinicians once: DM channels and zones known
        asyncio.run(burst(p.url, 40, 200 / 40))
        drain(fake)
    spying = None
    for name, p in (("ours", ours), ("bare", bare)):
        pids = [p.proc.pid] + (kit.children(p.proc.pid) if name == "ours" else [])
        before = [kit.cpu_seconds(pid) for pid in pids]
        if spy and name == "ours":
            cmd = ["py-spy", "record", "--pid", str(p.proc.pid), "--threads", "--gil"]
            cmd += ["--format", "raw", "--rate", "200", "--output", spy]
            spying = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # attached
        r = asyncio.run(burst(p.url, 40, n / 40))
        drain(fake)
        if spying is not None:
            spying.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            spying.wait(timeout=60)
            spying = None
        spent = [(kit.cpu_seconds(pid) - b) * 1000 / n for pid, b in zip(pids, before, strict=True)]
        extra = f", turn processes {sum(spent[1:]):.2f}" if name == "ours" else ""
        print(
            f"CPU per DM, {name}: web process {spent[0]:.2f} ms{extra}; ack p50 "
            f"{r['p50']:.1f} / p99 {r['p99']:.1f} ms ({n} DMs at 40/s, load {loadavg()})",
            flush=True,
        )


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="20,40,80,160")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL admin URL")
    parser.add_argument("--bare-inline-ack", action="store_true")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--memory", type=int, default=0)
    parser.add_argument("--turn-processes", type=int, default=2, help="ours (default 2)")
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--py-spy", default=None)
    parser.add_argument("--bare-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--slack", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r]
    with tempfile.TemporaryDirectory(prefix="bench-acks-") as tmp:
        folder = Path(tmp)
        if args.db == "sqlite":
            db_url = f"sqlite:///{folder / 'bench.db'}"
            Store.open(db_url, [kit.KEY], upgrade=True).dispose()
        else:
            db_url = kit.fresh_db(args.db)
        fake = kit.quiet_server(kit.QuickSlack().start())
        ours = start_ours(folder, db_url, fake.url, args.profile, args.turn_processes)
        bare = start_bare(folder, fake.url, args.bare_inline_ack)
        held: dict[str, float] = {"ours": 0.0, "bare": 0.0}
        try:
            wait_up(ours)
            wait_up(bare)
            for p in (ours, bare):  # warm-up: first connections, turn processes, caches
                asyncio.run(burst(p.url, 10, 2))
                drain(fake)
            print(f"load average at start: {loadavg()}; db {args.db.split(':')[0]}")
            print(f"{'rate/s':>7} {'app':>5} {'p50 ms':>8} {'p99 ms':>8} {'>3s':>5} {'failed':>6}")
            for i, rate in enumerate(rates):
                pair = [("ours", ours), ("bare", bare)]
                for name, p in pair if i % 2 == 0 else pair[::-1]:
                    r = asyncio.run(burst(p.url, rate, args.seconds))
                    print(
                        f"{rate:>7.0f} {name:>5} {r['p50']:>8.1f} {r['p99']:>8.1f} "
                        f"{r['over3s']:>5} {r['failed']:>6}",
                        flush=True,
                    )
                    if r["p99"] < 100 and not r["failed"]:
                        held[name] = max(held[name], rate)
                    drain(fake)
            if args.cpu:
                cpu_per_dm(fake, ours, bare, args.cpu, args.py_spy)
            if args.memory:
                for p in (ours, bare):
                    asyncio.run(burst(p.url, 20, args.memory / 20))
                    drain(fake)
                kids = kit.children(ours.proc.pid, every=True)  # the resource tracker too
                web = kit.rss_mib(ours.proc.pid)
                turns = [kit.rss_mib(c) for c in kids]
                base = kit.rss_mib(bare.proc.pid)
                print(
                    f"memory after {args.memory} more DMs: ours web {web:.0f} MiB + "
                    f"{len(turns)} child processes {sum(turns):.0f} MiB = {web + sum(turns):.0f}"
                    f" MiB; bare {base:.0f} MiB; ratio web alone {web / base:.2f}x, with "
                    f"turn processes {(web + sum(turns)) / base:.2f}x",
                    flush=True,
                )
                web_p, turns_p = pss_mib(ours.proc.pid), sum(pss_mib(c) for c in kids)
                base_p = pss_mib(bare.proc.pid)
                print(
                    f"PSS: ours web {web_p:.0f} MiB + child processes {turns_p:.0f} MiB = "
                    f"{web_p + turns_p:.0f} MiB; bare {base_p:.0f} MiB; ratio web alone "
                    f"{web_p / base_p:.2f}x, with turn processes {(web_p + turns_p) / base_p:.2f}x",
                    flush=True,
                )
        finally:
            if args.profile:
                ours.proc.send_signal(signal.SIGINT)  # pyinstrument writes on SIGINT
                try:
                    ours.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    ours.proc.kill()
            kit.stop_all([ours, bare])
            fake.stop()
            if args.db != "sqlite":
                kit.drop_db(args.db)
        ratio = held["ours"] / held["bare"] if held["bare"] else float("nan")
        print(
            f"highest rate with p99 < 100 ms: ours {held['ours']:.0f}/s, bare "
            f"{held['bare']:.0f}/s: {ratio:.2f}x; load average at the end: {loadavg()}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
