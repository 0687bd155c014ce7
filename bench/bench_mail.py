"""The cost of an iMIP invitation: compose + serialize, against the same e-mail without
its calendar (text and HTML alternatives only), in the same run.

    python bench/bench_mail.py --rounds 5 --messages 300

What the invitation adds is the calendar (icalendar builds and folds it) in two places:
inline as the text/calendar alternative and as the attached invite.ics, both base64.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

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
SENDER = "Clínica Peña <sessions@practice.example>"


def invitation() -> bytes:
    now = datetime.now(UTC)
    message = mail.compose(
        "invitation",
        VIEW,
        to="jd@example.com",
        sender=SENDER,
        uid="u@sessionbot",
        sequence=0,
        now=now,
    )
    return message.as_bytes()


def baseline() -> bytes:
    """The same words as a plain text + HTML e-mail, with no calendar."""
    words = messages.email("invitation", VIEW)
    message = EmailMessage()
    message["Subject"] = words.subject
    message["From"] = SENDER
    message["To"] = "jd@example.com"
    message.set_content(words.text)
    message.add_alternative(words.html, subtype="html")
    return message.as_bytes()


def per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    invitation(), baseline()  # warm-up: imports, zoneinfo
    ours, bare = [], []
    for _ in range(args.rounds):  # interleaved, so load swings hit both alike
        ours.append(per_call(invitation, args.messages))
        bare.append(per_call(baseline, args.messages))
    o, b = statistics.median(ours), statistics.median(bare)
    print(f"invitation (iMIP, calendar inline + attached): {o:.3f} ms per message")
    print(f"baseline (text + HTML, no calendar):           {b:.3f} ms per message")
    print(f"ratio: {o / b:.2f}x; sizes {len(invitation())} vs {len(baseline())} bytes")


if __name__ == "__main__":
    main()
