"""Cost of the conversation: one dialogue turn, and extraction of a one-shot message.

Each figure is a ratio against a baseline measured in the same run, so a busy machine
moves both sides alike:

1. one turn in process (NLU, validation through rasa-sdk's executor, the next question,
   tracker saved in one transaction) / its parts alone (the same extraction call and one
   tracker write in its own transaction); the same turn with the actions behind
   rasa-sdk's HTTP action server (`sessionbot actions`) is reported beside it;
2. `extract()` of a one-shot message / one bare `dateparser.parse("next Tuesday")`.

Run: python bench/bench_dialogue.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dateparser
import httpx
from cryptography.fernet import Fernet

from actions import extraction
from dialogue.runner import Runner, Who
from ground.settings import Settings
from sessionbot.wiring import build, make_nlu
from store import clinician_rows

ONE_SHOT = "JD tomorrow 3pm by text +1 617 555 0101, intake packet"
TZ = "America/New_York"


def per_call(fn: Callable[[], object], rounds: int, repeat: int = 5) -> float:
    """Median over `repeat` runs of the mean seconds per call."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(rounds):
            fn()
        samples.append((time.perf_counter() - start) / rounds)
    return statistics.median(samples)


class RemoteExecutor:
    """The executor interface over rasa-sdk's HTTP webhook, as a Rasa server calls it."""

    class Result:
        def __init__(self, body: dict) -> None:
            self.events = body.get("events", [])
            self.responses = body.get("responses", [])

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=30)

    async def run(self, payload: dict) -> Result:
        response = await self.client.post("/webhook", json=payload)
        response.raise_for_status()
        return self.Result(response.json())


def start_action_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`sessionbot actions` on a loopback socket bound here and handed over (`--fd`)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sessionbot.cli", "actions", "--fd", str(listener.fileno())],
            pass_fds=[listener.fileno()],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        listener.close()  # the process has its own copy
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("action server did not start")


def bench_turn(rounds: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="sessionbot-bench-"))
    env = {
        "SESSIONBOT_DATA_DIR": str(folder),
        "SESSIONBOT_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    parts = build(Settings.from_env(env))
    # The terminal's clinician: one the action server serves with no Slack install.
    who = Who("T_LOCAL", "U_SHELL", tz=TZ)
    nlu = make_nlu(parts.practice)
    # The turn measured: a correction while the form waits for the participant.
    parts.runner.handle(who, "tomorrow 3pm")
    text = "make it 4pm instead"

    def turn() -> None:
        parts.runner.handle(who, text)

    with parts.store.unit() as s:
        clinician_id = clinician_rows.get_clinician(s, who.team_id, who.user_id).id
        state = clinician_rows.load_tracker(s, clinician_id)
    assert state is not None  # the warm-up turns saved one

    def parts_alone() -> None:
        nlu(text, datetime.now(ZoneInfo(TZ)), "participant", None, None)
        with parts.store.unit() as s:
            clinician_rows.save_tracker(s, clinician_id, state)

    results = {"turn": per_call(turn, rounds), "parts": per_call(parts_alone, rounds)}

    proc, url = start_action_server(env)
    try:
        remote = Runner(parts.store, RemoteExecutor(url), nlu, default_tz=TZ)
        results["turn_http"] = per_call(lambda: remote.handle(who, text), max(rounds // 4, 10))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return results


def bench_extraction(rounds: int) -> dict[str, float]:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo(TZ))
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": now.replace(tzinfo=None)}
    packages = {"intake": "Intake packet", "consent": "Telehealth consent"}

    def one_shot() -> None:
        extraction.extract(ONE_SHOT, now=now, packages=packages)

    def bare() -> None:
        dateparser.parse("next Tuesday", languages=["en"], settings=settings)

    return {"extract": per_call(one_shot, rounds), "dateparser": per_call(bare, rounds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cpus, {os.uname().machine}, Python {sys.version.split()[0]}")

    e = bench_extraction(args.rounds * 5)
    print(f"extract(one-shot)          {e['extract'] * 1e3:8.3f} ms")
    print(f"dateparser.parse (bare)    {e['dateparser'] * 1e3:8.3f} ms")
    print(f"  ratio                    {e['extract'] / e['dateparser']:8.2f}x   (aim <= 3x)")

    t = bench_turn(args.rounds)
    print(f"turn in process            {t['turn'] * 1e3:8.3f} ms")
    print(f"its parts alone            {t['parts'] * 1e3:8.3f} ms")
    print(f"  ratio                    {t['turn'] / t['parts']:8.2f}x   (aim <= 1.3x)")
    print(f"turn via HTTP action server{t['turn_http'] * 1e3:8.3f} ms")
    print(f"  ratio to parts           {t['turn_http'] / t['parts']:8.2f}x   (reported)")


if __name__ == "__main__":
    main()
