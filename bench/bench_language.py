"""The cost of a participant's language: the catalog's first use (the .po read and
compiled in memory, once per process), and a whole invitation e-mail and a text in
Spanish against the same in English, in the same run.

    python bench/bench_language.py --rounds 5 --messages 300
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from ground.language import translations
from integrations import mail, messages

VIEW = messages.SessionView(
    start=datetime(2026, 11, 25, 20, 0, tzinfo=UTC),
    duration_min=50,
    participant_tz="America/Los_Angeles",
    host="Clínica Peña",
    page_url="https://sessions.example.test/j/" + "t" * 32,
    rsvp_yes_url="https://sessions.example.test/j/" + "t" * 32 + "/rsvp?answer=yes",
    rsvp_no_url="https://sessions.example.test/j/" + "t" * 32 + "/rsvp?answer=no",
    clinician="Dr. Zoë Müller",
)
SPANISH = dataclasses.replace(VIEW, language="es")


def invitation(view: messages.SessionView) -> bytes:
    message = mail.compose(
        "invitation",
        view,
        to="jd@example.com",
        sender="Clínica Peña <sessions@practice.example>",
        uid="u@sessionbot",
        sequence=0,
        now=datetime.now(UTC),
    )
    return message.as_bytes()


def per_call(fn: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    started = time.perf_counter()
    translations("es")
    print(f"catalog compiled on first use: {(time.perf_counter() - started) * 1e3:.1f} ms")
    cases = {
        "e-mail en": lambda: invitation(VIEW),
        "e-mail es": lambda: invitation(SPANISH),
        "text en": lambda: messages.sms("invitation", VIEW),
        "text es": lambda: messages.sms("invitation", SPANISH),
    }
    for name, fn in cases.items():
        fn()  # warm
        runs = [per_call(fn, args.messages) for _ in range(args.rounds)]
        print(f"{name}: median {statistics.median(runs):.0f} µs per message")


if __name__ == "__main__":
    main()
