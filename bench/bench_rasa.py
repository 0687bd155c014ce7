"""One conversation turn through a real Rasa 3.6 and `sessionbot actions`, beside the embedded turn.

The turn: "make it 4pm instead" while the form waits for the participant (after "tomorrow
3pm"), each round on a clinician of its own, so every measured turn does the same work.

- embedded: `Runner.handle` in process (our NLU, the form's validation and the next
  question through rasa-sdk's executor, the tracker saved): the baseline;
- Rasa: one message over Rasa's REST channel (`rasa run`: its NLU pipeline, policies, the
  form calling `validate_schedule_form` and `action_ask_participant` over HTTP on
  `sessionbot actions`), answered when Rasa replies;
- Rasa's NLU alone (`POST /model/parse` of the same text), to show where the time goes.

Needs the cached Rasa venv and model of tests/rasa_kit.py (made on first use).
Run: python bench/bench_rasa.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import actions_process  # noqa: E402
import rasa_kit  # noqa: E402

from actions.context import open_store  # noqa: E402
from dialogue.runner import Who  # noqa: E402
from ground.settings import Settings  # noqa: E402
from sessionbot.wiring import build  # noqa: E402

SETUP, TURN = "tomorrow 3pm", "make it 4pm instead"


def timed(setup: Callable[[int], object], turn: Callable[[int], object], rounds: int) -> list:
    samples = []
    for i in range(rounds):
        setup(i)
        start = time.perf_counter()
        turn(i)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cpus, {os.uname().machine}, Python {sys.version.split()[0]}")

    folder = Path(tempfile.mkdtemp(prefix="sessionbot-bench-rasa-"))
    key = Fernet.generate_key().decode()
    env = {
        **os.environ,
        "SESSIONBOT_DATA_DIR": str(folder / "data"),
        "SESSIONBOT_ENCRYPTION_KEY": key,
        **actions_process.CLIENT_ENV,
    }
    # The action server serves only the practice's workspaces: T_BENCH is installed.
    store = open_store(Settings.from_env(env, dotenv=False))
    actions_process.install_team(store, "T_BENCH")
    store.dispose()
    parts = build(Settings.from_env({"SESSIONBOT_DATA_DIR": str(folder / "embedded"),
                                     "SESSIONBOT_ENCRYPTION_KEY": key}))  # fmt: skip

    with rasa_kit.running_stack(folder / "stack", env) as stack:
        client = httpx.Client(timeout=60)

        def rasa_say(sender: str, text: str) -> None:
            answer = client.post(
                f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
            )
            answer.raise_for_status()
            assert answer.json(), "Rasa said nothing"

        def who(i: int, kind: str) -> Who:
            return Who("T_BENCH", f"U_{kind}_{i}")

        def embedded(kind: str, text: str, i: int) -> object:
            return parts.runner.handle(who(i, kind), text)

        def remote(kind: str, text: str, i: int) -> None:
            rasa_say(who(i, kind).sender_id, text)

        # Warm both paths (first calls load models and caches).
        for i in range(3):
            parts.runner.handle(who(i, "warm"), SETUP)
            rasa_say(who(i, "warm").sender_id, SETUP)
        rounds = args.rounds
        results: dict[str, list[float]] = {"embedded": [], "rasa": [], "parse": []}
        for n in range(3):  # interleaved passes, so load swings hit both alike
            results["embedded"] += timed(
                partial(embedded, f"emb{n}", SETUP),
                partial(embedded, f"emb{n}", TURN),
                rounds,
            )
            results["rasa"] += timed(
                partial(remote, f"rasa{n}", SETUP),
                partial(remote, f"rasa{n}", TURN),
                rounds,
            )
            results["parse"] += timed(
                lambda i: None,
                lambda i: client.post(
                    f"{stack.rasa_url}/model/parse",
                    params={"token": stack.rasa_token},
                    json={"text": TURN},
                ),
                rounds,
            )

    def p(samples: list[float], q: float) -> float:
        return statistics.quantiles(samples, n=100)[int(q) - 1] * 1e3

    base = statistics.median(results["embedded"]) * 1e3
    print(f"{'measure':42} {'p50 ms':>8} {'p90 ms':>8} {'ratio p50':>10}")
    for name, label in (
        ("embedded", "embedded turn (Runner.handle)"),
        ("rasa", "Rasa REST turn + sessionbot actions"),
        ("parse", "Rasa NLU alone (/model/parse)"),
    ):
        median = statistics.median(results[name]) * 1e3
        print(f"{label:42} {median:8.2f} {p(results[name], 90):8.2f} {median / base:9.1f}x")


if __name__ == "__main__":
    main()
