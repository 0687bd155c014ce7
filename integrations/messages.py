"""The wording of what a participant receives: invitation, update, cancellation, reminder,
and the answer "declined" to their request for another time.

Times are written in the participant's zone and name it. E-mails carry the page link and
RSVP links; texts stay short and carry no health details (no specialty, no reason for the
visit, no document names).

Every word here is in the participant's language (`SessionView.language`): the English
below is the message id of the catalogs in ground/locale (ground/language.py), and the
dates are written for that locale (`when(..., language=)`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from ground.formatting import when
from ground.language import N_, SOURCE, translations

SUBJECTS = {
    "invitation": N_("Invitation: video session on {day}"),
    "update": N_("Updated: your video session is now {day}"),
    "cancellation": N_("Cancelled: video session on {day}"),
    "reminder": N_("Reminder: video session {day}"),
    "declined": N_("Your video session stays on {day}"),
}

LEADS = {
    "invitation": N_("You are invited to a secure video session with {host}."),
    "update": N_("Your video session with {host} has a new time."),
    "cancellation": N_("Your video session with {host} has been cancelled."),
    "reminder": N_("A reminder of your upcoming video session with {host}."),
    "declined": N_(
        "{host} could not take the times you proposed, so your video session stays as planned."
    ),
}

SMS = {
    "invitation": N_(
        "{host}: video session {when}. Details: {link} Reply Y to confirm, N if you "
        "can't make it. STOP to opt out."
    ),
    "update": N_("{host}: your video session moved to {when}. Details: {link} Reply Y/N."),
    "cancellation": N_("{host}: your video session {when} is cancelled."),
    "reminder": N_("{host}: reminder, video session {when}. Join: {link}"),
    "declined": N_(
        "{host}: the times you proposed could not be taken; your video session stays "
        "{when}. Details: {link}"
    ),
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
    # A paid session's cancellation: what was refunded, or that nothing was (the words of
    # scheduling/refunds.py `participant_words`); None for an unpaid session.
    refund: str | None = None
    language: str = SOURCE  # the participant's (ground/language.py)

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
    _ = translations(view.language).gettext
    tz, language = view.participant_tz, view.language
    subject = _(SUBJECTS[kind]).format(day=when(view.start, tz, style="short", language=language))
    at = when(view.start, tz, style="long", language=language)
    lead = _(LEADS[kind]).format(host=view.with_whom)
    length = _("{minutes} minutes").format(minutes=view.duration_min)
    lines = [lead, "", _("When: {at}").format(at=at), _("Length: {length}").format(length=length)]
    refund = view.refund if kind == "cancellation" else None
    if refund:
        lines += ["", refund]
    if kind != "cancellation":
        lines += ["", _("Your session page (join from here): {url}").format(url=view.page_url)]
    if kind in ("invitation", "update"):
        lines += [
            "",
            _("Will you attend?"),
            _("  Yes: {url}").format(url=view.rsvp_yes_url),
            _("  No:  {url}").format(url=view.rsvp_no_url),
            _("(Please answer with these links: replies to this e-mail are not read.)"),
        ]
    lines += ["", _("The calendar invitation is attached.")]
    text = "\n".join(lines) + "\n"

    e = html.escape
    when_label, length_label = e(_("When:")), e(_("Length:"))
    parts = [f"<p>{e(lead)}</p>", f"<p><strong>{when_label}</strong> {e(at)}<br>"]
    parts.append(f"<strong>{length_label}</strong> {e(length)}</p>")
    if refund:
        parts.append(f"<p>{e(refund)}</p>")
    if kind != "cancellation":
        page = e(_("Open your session page"))
        parts.append(f'<p><a href="{e(view.page_url)}">{page}</a></p>')
    if kind in ("invitation", "update"):
        attend, yes, no = e(_("Will you attend?")), e(_("Yes")), e(_("No"))
        only = e(_("Please answer with these links: replies to this e-mail are not read."))
        parts.append(
            f'<p>{attend} <a href="{e(view.rsvp_yes_url)}">{yes}</a> · '
            f'<a href="{e(view.rsvp_no_url)}">{no}</a><br>'
            f"<small>{only}</small></p>"
        )
    opening = "<html>" if language == SOURCE else f'<html lang="{e(language)}">'
    body = "<!doctype html>" + opening + "<body>" + "".join(parts) + "</body></html>"
    return EmailText(subject=subject, text=text, html=body)


def sms(kind: str, view: SessionView) -> str:
    text = (
        translations(view.language)
        .gettext(SMS[kind])
        .format(
            host=view.host,
            when=when(view.start, view.participant_tz, style="short", language=view.language),
            link=view.page_url,
        )
    )
    return f"{text} {view.refund}" if kind == "cancellation" and view.refund else text


# Replies to a participant's text (sessionbot/webhooks.py, translated there).
HELP_REPLY = N_(
    "Session reminders. Reply Y to confirm, N if you can't attend, STOP to opt out. "
    "Msg&data rates may apply."
)
STOP_REPLY = N_("You will receive no more texts from us. Reply START to receive them again.")
START_REPLY = N_("You will receive session texts again. Reply STOP to opt out.")
