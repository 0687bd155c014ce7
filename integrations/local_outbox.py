"""The local outbox: where messages go when SMTP, Twilio or Slack is not configured.

Nothing leaves the machine. The worker marks such a row `local` and keeps what would
have been sent in the row's (encrypted) payload; `sessionbot outbox` prints them.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage

LOCAL_STATUS = "local"
LABEL = "LOCAL OUTBOX (not sent: no {what} configured)"


class LocalMail:
    local = True

    def send(self, message: EmailMessage) -> str:
        return "local"


class LocalSms:
    local = True

    def send(self, to: str, body: str) -> str:
        return "local"


class LocalSlack:
    local = True

    def send(
        self,
        team_id: str,
        user_id: str,
        text: str,
        *,
        button: tuple[str, str] | None = None,
        actions: Sequence[tuple[str, str, str]] = (),
    ) -> str:
        return "local"


def preview_email(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    attachments = [part.get_filename() for part in message.iter_attachments()]
    return (
        f"To: {message['To']}\nSubject: {message['Subject']}\n"
        f"Attachments: {', '.join(a for a in attachments if a) or '-'}\n\n{text}"
    )


def preview_sms(to: str, body: str) -> str:
    return f"To: {to}\n\n{body}\n"


def preview_slack(
    user_id: str,
    text: str,
    button: tuple[str, str] | None = None,
    actions: Sequence[tuple[str, str, str]] = (),
) -> str:
    under = f"[{button[0]}: {button[1]}]\n" if button else ""
    if actions:
        under += " ".join(f"[{label}]" for label, _id, _value in actions) + "\n"
    return f"To: Slack user {user_id}\n\n{text}\n{under}"
