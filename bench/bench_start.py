"""How soon `sessionbot serve` answers /healthz after it is started (issue 24: <= 3 s).

    python bench/bench_start.py [--rounds 5] [--db sqlite|postgresql+psycopg://...]

Each round spawns `sessionbot serve` on a socket handed over by this script (as
tests/serve_process.py does) and times spawn -> first 200 on /healthz, polling every
20 ms; interleaved with the baseline, a bare Bolt `AsyncApp` on the same Starlette
adapter under uvicorn in a child process of its own (`--bare-child`), spawn -> first 200.
"restart" rounds use a database already migrated (a deploy or a crash restart); one
"first start" round migrates an empty one. Then, in this process, where serve's start
goes: imports, settings, `build` (store opened, keys checked, migrations looked at),
`create_app`.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
KEY = Fernet.generate_key().decode()


def bare_child(fd: int) -> None:
    import uvicorn
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    bolt = AsyncApp(token="xoxb-bench", signing_secret="s" * 32)
    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Any) -> Any:
        return await handler.handle(request)

    async def healthz(request: Any) -> Any:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz)]
    )
    config = uvicorn.Config(app, log_level="warning")
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])


def spawn(cmd: list[str], env: dict[str, str], folder: Path) -> float:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    began = time.monotonic()
    proc = subprocess.Popen(
        [*cmd, str(listener.fileno())],
        pass_fds=[listener.fileno()],
        env={**env, "SESSIONBOT_PUBLIC_URL": f"http://127.0.0.1:{port}"},
        cwd=folder,
        stdout=(folder / "start.log").open("a"),
        stderr=subprocess.STDOUT,
    )
    listener.close()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            while time.monotonic() - began < 120:
                try:
                    if http.get("/healthz").status_code == 200:
                        return time.monotonic() - began
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        raise SystemExit("no 200 in 120 s:\n" + (folder / "start.log").read_text()[-2000:])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def phases(env: dict[str, str]) -> str:
    """Where the start goes, measured in a child (a clean interpreter)."""
    code = """
import time, os
t0 = time.perf_counter()
from bot.app import bolt_app
from sessionbot.asgi import create_app
from ground.settings import Settings
from sessionbot.wiring import build
t1 = time.perf_counter()
settings = Settings.from_env(dict(os.environ))
t2 = time.perf_counter()
parts = build(settings)
t3 = time.perf_counter()
create_app(parts)
t4 = time.perf_counter()
print(f"imports {t1 - t0:.2f} s, settings {t2 - t1:.2f} s, build {t3 - t2:.2f} s, "
      f"create_app {t4 - t3:.2f} s")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    return done.stdout.strip() or done.stderr[-1000:]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL URL")
    parser.add_argument("--bare-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_child is not None:
        bare_child(args.bare_child)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONBOT_", "SLACK_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            SESSIONBOT_DATA_DIR=str(folder / "data"),
            SESSIONBOT_ENCRYPTION_KEY=KEY,
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET="s" * 32,
        )
        if args.db != "sqlite":
            env["SESSIONBOT_DATABASE_URL"] = args.db
        serve = [sys.executable, "-m", "sessionbot.cli", "serve", "--fd"]
        bare = [sys.executable, __file__, "--bare-child"]
        print(f"load average at start: {loadavg()}")
        first = spawn(serve, env, folder)
        print(f"first start (migrating an empty database): {first:.2f} s")
        ours: list[float] = []
        base: list[float] = []
        for r in range(args.rounds):
            pair = [(serve, ours), (bare, base)]
            for cmd, into in pair if r % 2 == 0 else pair[::-1]:
                into.append(spawn(cmd, env, folder))
            print(f"round {r + 1}: serve {ours[-1]:.2f} s, bare Bolt {base[-1]:.2f} s", flush=True)
        mo, mb = statistics.median(ours), statistics.median(base)
        print(
            f"restart: serve median {mo:.2f} s (max {max(ours):.2f}), bare Bolt median "
            f"{mb:.2f} s: {mo / mb:.2f}x; load average at the end: {loadavg()}"
        )
        print("where serve's start goes (a restart):", phases(env))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
