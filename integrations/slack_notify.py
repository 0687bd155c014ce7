"""Direct messages to a clinician (notices: RSVP, opt-out, failures) with slack_sdk.

The token is `SLACK_BOT_TOKEN` (one workspace) or, for OAuth installs, the bot token
that slack_sdk's `SQLAlchemyInstallationStore` holds for the clinician's team.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, MarkdownTextObject, SectionBlock
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine

from integrations.errors import PermanentError, TransientError

PERMANENT = {"user_not_found", "account_inactive", "invalid_auth", "not_authed", "token_revoked"}

# Why a notice to a workspace that let the app go is dropped (bot/lifecycle.py records it;
# the worker drops pending and later notices with these words).
DROPPED_BECAUSE = {
    "app_uninstalled": "not sent: the app was uninstalled from this Slack workspace",
    "tokens_revoked": "not sent: this Slack workspace revoked the app's bot token",
}


def token_hash(token: str | None) -> str | None:
    """What identifies a single-workspace bot token at rest (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest() if token else None


# A button that answers in Slack: (label, action id, value); the bot listens to its id.
Action = tuple[str, str, str]


class ClinicianNotifier(Protocol):
    local: bool

    def send(
        self,
        team_id: str,
        user_id: str,
        text: str,
        *,
        button: tuple[str, str] | None = None,
        actions: Sequence[Action] = (),
    ) -> str:
        """DM the clinician (with a link `button`, (label, url), and `actions` under the
        text when given); returns the message timestamp."""
        ...


def notice_blocks(
    text: str, button: tuple[str, str] | None, actions: Sequence[Action] = ()
) -> list[dict[str, object]]:
    """The text, then a link button (Enter Meeting: its action id is the dashboard's,
    whose listener only acks while Slack opens the URL) and the answering buttons (Accept,
    Decline): Block Kit from slack_sdk's models."""
    elements = []
    if button is not None:
        label, url = button
        elements.append(ButtonElement(text=label, url=url, action_id="dash:enter", style="primary"))
    for label, action_id, value in actions[:25]:
        style = "danger" if action_id.endswith("decline") else None
        elements.append(
            ButtonElement(text=label[:75], action_id=action_id, value=value, style=style)
        )
    blocks = [SectionBlock(text=MarkdownTextObject(text=text[:3000])).to_dict()]
    if elements:
        blocks.append(ActionsBlock(elements=elements).to_dict())
    return blocks


class SlackNotifier:
    local = False

    def __init__(
        self,
        *,
        token: str | None,
        base_url: str | None = None,
        client_id: str | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.token = token
        self.base_url = (base_url.rstrip("/") + "/") if base_url else WebClient.BASE_URL
        self.installations = (
            SQLAlchemyInstallationStore(
                client_id=client_id,
                engine=engine,
                installations_table_name="slack_installations",
                bots_table_name="slack_bots",
            )
            if client_id and engine is not None and not token
            else None
        )
        self._clients: dict[str, WebClient] = {}

    def _token_for(self, team_id: str) -> str:
        if self.token:
            return self.token
        bot = (
            self.installations.find_bot(enterprise_id=None, team_id=team_id)
            if self.installations
            else None
        )
        if bot is None or not bot.bot_token:
            raise PermanentError(
                "no Slack installation for this workspace",
                fix="Install the app into the workspace again.",
            )
        return bot.bot_token

    def send(
        self,
        team_id: str,
        user_id: str,
        text: str,
        *,
        button: tuple[str, str] | None = None,
        actions: Sequence[Action] = (),
    ) -> str:
        token = self._token_for(team_id)
        client = self._clients.get(token)
        if client is None:
            client = WebClient(token=token, base_url=self.base_url, timeout=15)
            self._clients[token] = client
        try:
            blocks = notice_blocks(text, button, actions) if button or actions else None
            response = client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                raise TransientError(
                    f"Slack HTTP {exc.response.status_code}",
                    rate_limited=exc.response.status_code == 429,
                ) from None
            if error in PERMANENT:
                raise PermanentError(f"Slack: {error}") from None
            raise TransientError(f"Slack: {error}") from None
        except OSError as exc:
            raise TransientError(f"Slack unreachable: {type(exc).__name__}") from None
        return str(response.get("ts", ""))
