"""Slack's app lifecycle: after `app_uninstalled` or `tokens_revoked`, nothing more is posted
to that workspace and its pending notices are dropped with the reason.

Signed events go to the real Bolt app on a real server; the worker posts to the fake Slack
Web API; installations live in slack_sdk's installation store on each backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import make_settings
from fake_slack import FakeSlack, Person, SlackApp, slack_env
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

from integrations.providers import senders
from scheduling import booking
from sessionbot.asgi import create_app
from sessionbot.outbox.worker import Worker
from sessionbot.wiring import Parts, build
from store import clinician_rows, outbox_rows
from store.db import Store
from store.models import OutboxMessage

CLIENT_ID = "111.222"
UNINSTALLED = "not sent: the app was uninstalled from this Slack workspace"
REVOKED = "not sent: this Slack workspace revoked the app's bot token"


def installations(parts: Parts) -> SQLAlchemyInstallationStore:
    return SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=parts.store.engine)


def install(parts: Parts, team_id: str, bot_token: str) -> None:
    installations(parts).save(
        Installation(
            app_id="A_SESSIONBOT",
            team_id=team_id,
            bot_token=bot_token,
            bot_id="B_BOT",
            bot_user_id="U_BOT",
            bot_scopes="chat:write,im:write",
            user_id="U_ADMIN",
            user_token="xoxp-admin-" + team_id,
            installed_at=datetime.now(UTC).timestamp(),
        )
    )


def notify(parts: Parts, team: str, user: str, text: str) -> None:
    """A notice for the clinician, queued as the webhooks and the worker queue them."""
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, team, user)
        booking.notify_clinician(
            s, clinician.id, text, dedupe_key=f"test:{team}:{text}", now=datetime.now(UTC)
        )


def notices(parts: Parts) -> dict[str, OutboxMessage]:
    with parts.store.unit() as s:
        return {
            m.payload or "": m for m in outbox_rows.list_outbox(s) if m.kind == "clinician_notice"
        }


def run_worker(parts: Parts) -> None:
    Worker(
        parts.store,
        parts.practice,
        parts.settings,
        senders(parts.settings, parts.store),
    ).run_once()


def posted(slack: FakeSlack) -> list[tuple[str, str | None, str]]:
    return [
        (c.args["channel"], c.token, c.args.get("text", "")) for c in slack.of("chat.postMessage")
    ]


@pytest.fixture
def oauth_parts(tmp_path: Path, fake_slack: FakeSlack, store: Store) -> Parts:
    env = slack_env(fake_slack, SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET="oauth-secret")
    del env["SLACK_BOT_TOKEN"]
    return build(make_settings(tmp_path, **env), store=store)


@pytest.fixture
def app(oauth_parts: Parts, clock) -> Iterator[SlackApp]:
    running = SlackApp(create_app(oauth_parts)).start()
    yield running
    running.stop()


def oauth_install(app: SlackApp) -> None:
    """Slack's install flow through /slack/install (the fake installs team T_NEW)."""
    page = app.http.get("/slack/install")
    found = re.search(r"state=([\w-]+)", page.text)
    assert found is not None
    state = found.group(1)
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    done = app.http.get(
        "/slack/oauth_redirect",
        params={"code": "the-code", "state": state},
        headers={"Cookie": cookie},
    )
    assert done.status_code == 200, done.text


def test_after_app_uninstalled_nothing_more_is_posted_to_that_workspace(
    app: SlackApp, oauth_parts: Parts, fake_slack: FakeSlack
) -> None:
    install(oauth_parts, "T1", "xoxb-t1")
    install(oauth_parts, "T2", "xoxb-t2")
    notify(oauth_parts, "T1", "U_CLIN1", "For T1: payment received")
    notify(oauth_parts, "T2", "U_DOC2", "For T2: payment received")

    answer = Person(app, fake_slack, "U_DOC2", team="T2").event({"type": "app_uninstalled"})
    assert answer.status_code == 200
    # Bolt's own listener emptied the installation store for T2, and only for T2.
    assert installations(oauth_parts).find_bot(enterprise_id=None, team_id="T2") is None
    assert installations(oauth_parts).find_bot(enterprise_id=None, team_id="T1") is not None
    dropped = notices(oauth_parts)["For T2: payment received"]
    assert (dropped.status, dropped.last_error) == ("dropped", UNINSTALLED)
    assert notices(oauth_parts)["For T1: payment received"].status == "pending"

    notify(oauth_parts, "T2", "U_DOC2", "For T2: an RSVP, later")
    run_worker(oauth_parts)
    assert posted(fake_slack) == [("U_CLIN1", "xoxb-t1", "For T1: payment received")]
    later = notices(oauth_parts)["For T2: an RSVP, later"]
    assert (later.status, later.last_error) == ("dropped", UNINSTALLED)


def test_installing_again_lets_notices_through_again(
    app: SlackApp, oauth_parts: Parts, fake_slack: FakeSlack
) -> None:
    oauth_install(app)
    Person(app, fake_slack, "U_ADMIN", team="T_NEW").event({"type": "app_uninstalled"})
    notify(oauth_parts, "T_NEW", "U_NEWDOC", "While uninstalled")
    run_worker(oauth_parts)
    assert posted(fake_slack) == []
    oauth_install(app)
    notify(oauth_parts, "T_NEW", "U_NEWDOC", "After the new install")
    run_worker(oauth_parts)
    assert posted(fake_slack) == [("U_NEWDOC", "xoxb-installed", "After the new install")]
    assert notices(oauth_parts)["While uninstalled"].status == "dropped"


def test_tokens_revoked_drops_the_bot_and_its_notices_but_a_user_token_alone_does_not(
    app: SlackApp, oauth_parts: Parts, fake_slack: FakeSlack
) -> None:
    install(oauth_parts, "T2", "xoxb-t2")
    notify(oauth_parts, "T2", "U_DOC2", "First")
    doc = Person(app, fake_slack, "U_DOC2", team="T2")
    users_only = {"type": "tokens_revoked", "tokens": {"oauth": ["U_ADMIN"]}}
    assert doc.event(users_only).status_code == 200
    assert installations(oauth_parts).find_bot(enterprise_id=None, team_id="T2") is not None
    assert notices(oauth_parts)["First"].status == "pending"

    both = {"type": "tokens_revoked", "tokens": {"oauth": ["U_ADMIN"], "bot": ["U_BOT"]}}
    assert doc.event(both).status_code == 200
    assert installations(oauth_parts).find_bot(enterprise_id=None, team_id="T2") is None
    first = notices(oauth_parts)["First"]
    assert (first.status, first.last_error) == ("dropped", REVOKED)
    run_worker(oauth_parts)
    assert posted(fake_slack) == []


def test_one_workspace_by_token_stops_until_a_new_token_is_set(
    tmp_path: Path, fake_slack: FakeSlack, store: Store, clock
) -> None:
    parts = build(make_settings(tmp_path, **slack_env(fake_slack)), store=store)
    app = SlackApp(create_app(parts)).start()
    try:
        notify(parts, "T1", "U_CLIN1", "Before")
        answer = Person(app, fake_slack, "U_CLIN1").event({"type": "app_uninstalled"})
        assert answer.status_code == 200
        assert notices(parts)["Before"].last_error == UNINSTALLED
        notify(parts, "T1", "U_CLIN1", "Still uninstalled")
        run_worker(parts)
        assert posted(fake_slack) == []
        assert notices(parts)["Still uninstalled"].status == "dropped"
    finally:
        app.stop()
    # The practice installs the app again and sets the new bot token.
    renewed = build(
        make_settings(tmp_path, **slack_env(fake_slack, SLACK_BOT_TOKEN="xoxb-new-token")),
        store=store,
    )
    notify(renewed, "T1", "U_CLIN1", "With the new token")
    run_worker(renewed)
    assert posted(fake_slack) == [("U_CLIN1", "xoxb-new-token", "With the new token")]
