"""Cost of understanding a message: one-shot extraction against one bare
``dateparser.parse``, and extraction of long and hostile messages, to show it grows
linearly with the message's length (no pattern backtracks over the whole message).

Each figure is a ratio against a baseline in the same run:

1. ``extract()`` of one-shot messages / one bare ``dateparser.parse("next Tuesday")``
   (aim <= 3x);
2. ``extract()`` of a 10k and a 100k character message / the same message at 1k, per
   character (aim: about 1, linear; a quadratic pattern would show 10x and 100x).

Run: python bench/bench_extraction.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

import dateparser

from actions import extraction

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
PACKAGES = {"intake": "Intake packet", "consent": "Telehealth consent", "phq9": "PHQ-9"}
SERVICES = {"initial": "Initial consultation", "followup": "Follow-up session"}
ONE_SHOTS = {
    "design example": "JD tomorrow 3pm by text +1 617 555 0101, intake packet",
    "long one-shot": "with Jo Park next thursday a quarter past 4 central, by text "
    "+49 (0)151 2345 6789, he's in Phoenix, no paperwork",
    "correction": "not JD, it should be JT, and push it back 30 minutes",
    "dictated": "Schedule a session with Jane Smith comma tomorrow at four fifteen p m period",
    "second thought": "JD tomorrow at 3, sorry, 4, text her... actually e-mail jd@example.com",
}
# Units repeated to the length asked: ordinary text, and the shapes that make naive
# patterns backtrack (long runs of digits, letters, separators, markers, @ and dots).
UNITS = {
    "sentences": "JD tomorrow 3pm by text 617 555 0101, intake packet, he's in Phoenix. ",
    "digit groups": "1 2 3 4 5 6 7 8 9 0 ",
    "one long word": "a",
    "dashed letters": "a-",
    "markers": "with in for not ",
    "at-signs and dots": "a.b@c.",
    "colons and digits": "1:2:3.",
    "weekday typos": "thrusday wednsday ",
    # Many matches: each taken span is blanked in one pass, not one copy of the text a span.
    "many times": "3pm PST ",
    "many phones": "617 555 0101 ",
    "many replaced names": "not Bob ",
    "many places": "he's in Phoenix ",
    # Dictation and second thoughts (issue 18): number words, punctuation words, markers.
    "number words": "at four fifteen p m comma twenty third period ",
    "second thoughts": "3pm, sorry, 4pm, no wait, ",
}


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


def read(text: str) -> None:
    extraction.extract(text, now=NOW, packages=PACKAGES, services=SERVICES)


def bench_one_shot(rounds: int) -> None:
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": NOW.replace(tzinfo=None)}
    bare = per_call(
        lambda: dateparser.parse("next Tuesday", languages=["en"], settings=settings), rounds
    )
    print(f"dateparser.parse('next Tuesday')        {bare * 1e3:8.3f} ms   (baseline)")
    for name, text in ONE_SHOTS.items():
        took = per_call(partial(read, text), rounds)
        print(
            f"extract({name:<16})               {took * 1e3:8.3f} ms   "
            f"{took / bare:6.2f}x  (aim <= 3x)"
        )


def bench_lengths(rounds: int) -> None:
    print(
        f"{'message':<20} {'1k ms':>8} {'10k ms':>8} {'100k ms':>9} "
        f"{'10k/1k per char':>16} {'100k/1k per char':>17}"
    )
    for name, unit in UNITS.items():
        times = {}
        for length in (1_000, 10_000, 100_000):
            text = (unit * (length // len(unit) + 1))[:length]
            times[length] = per_call(
                partial(read, text), max(1, rounds // (length // 1000)), repeat=3
            )
        ten = times[10_000] / (10 * times[1_000])
        hundred = times[100_000] / (100 * times[1_000])
        print(
            f"{name:<20} {times[1_000] * 1e3:8.2f} {times[10_000] * 1e3:8.2f} "
            f"{times[100_000] * 1e3:9.1f} {ten:16.2f} {hundred:17.2f}"
        )


def warm_up() -> None:
    """Load the gazetteer and compile the patterns before anything is timed."""
    read("he's in Phoenix, 3pm PST, 617 555 0101, thrusday")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cpus, {os.uname().machine}, Python {sys.version.split()[0]}")
    warm_up()
    bench_one_shot(args.rounds)
    bench_lengths(max(args.rounds // 10, 10))


if __name__ == "__main__":
    main()
