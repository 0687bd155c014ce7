"""The clinician's calendar feed link: shown (made on first use), or replaced.

Slack's App Home and `sessionbot calendar-url` both call these and say what they return.
The link is shown only to its clinician (a DM, the terminal), never in a channel: anyone
holding it sees the times of their sessions (with initials, no names or addresses).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.orm import Session

from scheduling import results
from store import feeds
from store.models import Clinician

ROTATE = "rotate_feed"
HOW_TO_ADD = (
    "Add it in Google Calendar (Other calendars › From URL), Outlook (Add calendar › "
    "Subscribe from web) or Apple Calendar (File › New Calendar Subscription). It holds "
    "your sessions of the last 30 days and to come, participants as initials only; your "
    "calendar looks again every hour or so."
)
KEEP_PRIVATE = (
    "Anyone with this link sees your session times: keep it to yourself. "
    "“Make a new link” stops the old one at once."
)


def feed_url(public_url: str, secret: str) -> str:
    return f"{public_url.rstrip('/')}/cal/{secret}.ics"


def fingerprint(secret: str) -> str:
    """Which link a button was shown beside (a double click on “Make a new link” makes
    one new link, not two); says nothing of the secret."""
    return hashlib.sha256(b"feed-fingerprint:" + secret.encode()).hexdigest()[:16]


def show(s: Session, clinician: Clinician, public_url: str) -> tuple[results.Done, str]:
    """The clinician's feed link in words, made on first use; and its fingerprint."""
    secret, made = feeds.feed_secret(s, clinician.id)
    url = feed_url(public_url, secret)
    lead = "I made your calendar feed" if made else "Your calendar feed"
    text = f"{lead}: {url}\n{HOW_TO_ADD}\n{KEEP_PRIVATE}"
    return results.Done(text, changed=made), fingerprint(secret)


def rotate(
    s: Session, clinician: Clinician, public_url: str, seen: str, now: datetime
) -> tuple[results.Done, str]:
    """A new link in place of the one whose fingerprint is `seen`; the old one answers
    404 from now on. The same click again (a double click) is answered with the first's
    words, not a third link."""
    made: list[str] = []

    def replace() -> results.Done:
        secret, _ = feeds.feed_secret(s, clinician.id, rotate=True)
        made.append(secret)
        url = feed_url(public_url, secret)
        return results.Done(
            "I made a new calendar feed link; the old one stopped working just now. "
            f"Subscribe your calendar to the new one (and remove the old): {url}\n{HOW_TO_ADD}",
            changed=True,
        )

    done = results.once(s, clinician.id, ROTATE, "calendar", seen, now, replace)
    if made:
        return done, fingerprint(made[0])
    current, _ = feeds.feed_secret(s, clinician.id)
    return done, fingerprint(current)
