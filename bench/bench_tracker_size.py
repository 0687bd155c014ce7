"""How big a call from a real Rasa 3.6 to `sessionbot actions` gets as a conversation grows.

Rasa posts the whole tracker with every event (`EventVerbosity.ALL`: each user message
with its parse data, every slot and action) to the action server, and the domain too
when the action asks for it; the action server's body limit (MAX_BODY in
sessionbot/action_server.py) must hold a long conversation with room to spare. This holds
conversations of scheduling, corrections and saves through the real stack
(tests/rasa_kit.py) and measures the tracker Rasa keeps (its HTTP API) and the domain.

Run: python bench/bench_tracker_size.py [--turns 200]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import actions_process  # noqa: E402
import rasa_kit  # noqa: E402

from actions.context import open_store  # noqa: E402
from ground.settings import Settings  # noqa: E402
from sessionbot.action_server import MAX_BODY  # noqa: E402

CYCLE = [
    "JD tomorrow 3pm by text +1 617 555 0101, intake packet",
    "Pacific",
    "make it 4pm instead",
    "switch to e-mail",
    "jd@example.com",
    "include the consent form",
    "save",
    "with Robin Smith next Tuesday 10am no invitation",
    "same",
    "none",
    "push it back 30 minutes",
    "save",
    "my sessions",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sessionbot-bench-size-"))
    env = {
        **os.environ,
        "SESSIONBOT_DATA_DIR": str(folder / "data"),
        "SESSIONBOT_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        **actions_process.CLIENT_ENV,
    }
    store = open_store(Settings.from_env(env, dotenv=False))
    actions_process.install_team(store, "T_SIZE")
    store.dispose()
    sender = "T_SIZE:U_LONG"
    with rasa_kit.running_stack(folder / "stack", env) as stack, httpx.Client(timeout=120) as c:
        token = {"token": stack.rasa_token}
        domain = c.get(f"{stack.rasa_url}/domain", params=token,
                       headers={"Accept": "application/json"}).json()  # fmt: skip
        domain_bytes = len(json.dumps(domain).encode())
        print(f"domain: {domain_bytes} bytes (sent only when an action asks for it)")
        for turn in range(1, args.turns + 1):
            stack.say(sender, CYCLE[(turn - 1) % len(CYCLE)])
            if turn % 25 == 0 or turn == args.turns:
                tracker = c.get(
                    f"{stack.rasa_url}/conversations/{sender}/tracker",
                    params={**token, "include_events": "ALL"},
                ).json()
                size = len(json.dumps(tracker).encode())
                events = len(tracker.get("events") or [])
                print(
                    f"{turn:4d} turns: tracker {size:8d} bytes, {events:5d} events; "
                    f"with the domain {size + domain_bytes:8d} bytes "
                    f"({(size + domain_bytes) / MAX_BODY:.0%} of MAX_BODY)"
                )
        per_turn = size / args.turns
        fits = int((MAX_BODY - domain_bytes) / per_turn)
        print(f"~{per_turn:.0f} bytes a turn: MAX_BODY ({MAX_BODY} bytes) holds ~{fits} turns")


if __name__ == "__main__":
    main()
