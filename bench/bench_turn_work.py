"""CPU of a DM's turn where it runs (a turn process under `serve`): `bot.turn_work.run`.

    python bench/bench_turn_work.py [--turns 1000] [--rounds 3] [--db URL]

What a turn process does for each DM, in this process: the settle check, whom a staff
member works for, the conversation read and locked, NLU, the form's actions through
rasa-sdk's executor, the tracker saved, the answer recorded, the answers still to post
read back and rendered to Block Kit JSON, all in one transaction. `--turns` clinicians
each say "schedule" (their first turn: the clinician and the tracker are made), then
"tomorrow 3pm" (an ongoing turn). CPU time of this process (`time.process_time`) per turn.

Baseline, in the same run: one bare write transaction on the same database engine (an
UPDATE of one row, none of our code), so that a busy machine moves both alike; the ratio
is what a turn costs in such transactions. To compare two versions of the code,
run this script in each (a `git worktree` of the other) in turns, a few times: one run's
figure moves by 10-20 % on a shared machine (bench/README.md, "third session").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import turn_work  # noqa: E402
from dialogue.turn_io import TurnAsk, Who  # noqa: E402
from ground.settings import Settings  # noqa: E402
from sessionbot.parts import Parts  # noqa: E402
from sessionbot.wiring import build  # noqa: E402


def parts_for(db: str | None) -> Parts:
    env = {
        "SESSIONBOT_DATA_DIR": tempfile.mkdtemp(),
        "SESSIONBOT_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SLACK_BOT_TOKEN": "xoxb-bench-fake",
        "SLACK_SIGNING_SECRET": "bench-fake-secret",
    }
    if db:
        env["SESSIONBOT_DATABASE_URL"] = db
    return build(Settings.from_env(env))


def ask(user: str, text: str, n: int) -> TurnAsk:
    who = Who("T1", user, tz="America/New_York")
    return TurnAsk(who, text, f"event:{user}:{n}", {"channel": "D" + user, "thread_ts": None})


def turns(parts: Parts, tag: str, n: int, text: str, step: int) -> float:
    """CPU ms per turn of `n` clinicians saying `text`."""
    start = time.process_time()
    for i in range(n):
        work = turn_work.run(parts, ask(f"U{tag}x{i}", text, step))
        assert work.reply is not None and work.answers, "a turn gave no answer"
    return (time.process_time() - start) * 1000 / n


def bare(parts: Parts, n: int) -> float:
    """CPU ms per bare write transaction on the same engine (none of our code in it)."""
    start = time.process_time()
    for _ in range(n):
        with parts.store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
    return (time.process_time() - start) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", default=None, help="a PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    parts = parts_for(args.db)
    for i in range(20):  # warm up: imports, caches, the first statements compiled
        turn_work.run(parts, ask(f"UW{i}", "schedule", 1))
        turn_work.run(parts, ask(f"UW{i}", "tomorrow 3pm", 2))
    firsts, ongoing, bases = [], [], []
    for r in range(args.rounds):
        tag = f"{r}{time.monotonic_ns()}"
        bases.append(bare(parts, args.turns))
        firsts.append(turns(parts, tag, args.turns, "schedule", 1))
        ongoing.append(turns(parts, tag, args.turns, "tomorrow 3pm", 2))
    base = statistics.median(bases)
    for name, values in (("first turn", firsts), ("ongoing turn", ongoing)):
        mid = statistics.median(values)
        print(f"{name:<14}{mid:7.2f} ms CPU  ({mid / base:5.1f}x a bare transaction)")
    print(f"{'bare write':<14}{base:7.2f} ms CPU  ({args.turns} x {args.rounds} each)")


if __name__ == "__main__":
    main()
