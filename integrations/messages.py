"""The wording of what a participant receives: invitation, update, cancellation, reminder,
and the answer "declined" to their request for another time.

Times are written in the participant's zone and name it. E-mails carry the page link and
RSVP links; texts stay short and carry no health details (no specialty, no reason for the
visit, no document names).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from ground.formatting import when

SUBJECTS = {
    "invitation": "Invitation: video session on {day}",
    "update": "Updated: your video session is now {day}",
    "cancellation": "Cancelled: video session on {day}",
    "reminder": "Reminder: video session {day}",
    "declined": "Your video session stays on {day}",
}

LEADS = {
    "invitation": "You are invited to a secure video session with {host}.",
    "update": "Your video session with {host} has a new time.",
    "cancellation": "Your video session with {host} has been cancelled.",
    "reminder": "A reminder of your upcoming video session with {host}.",
    "declined": "{host} could not take the times you proposed, so your video session stays "
    "as planned.",
}

SMS = {
    "invitation": "{host}: video session {when}. Details: {link} Reply Y to confirm, N if you "
    "can't make it. STOP to opt out.",
    "update": "{host}: your video session moved to {when}. Details: {link} Reply Y/N.",
    "cancellation": "{host}: your video session {when} is cancelled.",
    "reminder": "{host}: reminder, video session {when}. Join: {link}",
    "declined": "{host}: the times you proposed could not be taken; your video session stays "
    "{when}. Details: {link}",
}


@dataclass(frozen=True)
class SessionView:
    """What the wording needs of a session, decrypted and resolved."""

    start: datetime
    duration_min: int
    participant_tz: str
    host: str  # the practice
    page_url: str
    rsvp_yes_url: str
    rsvp_no_url: str
    clinician: str | None = None  # their display name, when Slack gave one

    @property
    def with_whom(self) -> str:
        """'Dr. Peña (Clínica Sol)', or the practice alone."""
        return f"{self.clinician} ({self.host})" if self.clinician else self.host


@dataclass(frozen=True)
class EmailText:
    subject: str
    text: str
    html: str


def email(kind: str, view: SessionView) -> EmailText:
    subject = SUBJECTS[kind].format(day=when(view.start, view.participant_tz, style="short"))
    at = when(view.start, view.participant_tz, style="long")
    lead = LEADS[kind].format(host=view.with_whom)
    lines = [lead, "", f"When: {at}", f"Length: {view.duration_min} minutes"]
    if kind != "cancellation":
        lines += ["", f"Your session page (join from here): {view.page_url}"]
    if kind in ("invitation", "update"):
        lines += [
            "",
            "Will you attend?",
            f"  Yes: {view.rsvp_yes_url}",
            f"  No:  {view.rsvp_no_url}",
            "(Please answer with these links: replies to this e-mail are not read.)",
        ]
    lines += ["", "The calendar invitation is attached."]
    text = "\n".join(lines) + "\n"

    e = html.escape
    parts = [f"<p>{e(lead)}</p>", f"<p><strong>When:</strong> {e(at)}<br>"]
    parts.append(f"<strong>Length:</strong> {view.duration_min} minutes</p>")
    if kind != "cancellation":
        parts.append(f'<p><a href="{e(view.page_url)}">Open your session page</a></p>')
    if kind in ("invitation", "update"):
        parts.append(
            f'<p>Will you attend? <a href="{e(view.rsvp_yes_url)}">Yes</a> · '
            f'<a href="{e(view.rsvp_no_url)}">No</a><br>'
            "<small>Please answer with these links: replies to this e-mail are not read."
            "</small></p>"
        )
    body = "<!doctype html><html><body>" + "".join(parts) + "</body></html>"
    return EmailText(subject=subject, text=text, html=body)


def sms(kind: str, view: SessionView) -> str:
    return SMS[kind].format(
        host=view.host,
        when=when(view.start, view.participant_tz, style="short"),
        link=view.page_url,
    )


HELP_REPLY = (
    "Session reminders. Reply Y to confirm, N if you can't attend, STOP to opt out. "
    "Msg&data rates may apply."
)
STOP_REPLY = "You will receive no more texts from us. Reply START to receive them again."
START_REPLY = "You will receive session texts again. Reply STOP to opt out."
