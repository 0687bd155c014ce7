"""What the clinician reads in Slack: DMs about failures and RSVPs, from the worker.

The worker talks to the fake Slack Web API of tests/fake_slack.py; the token is
SLACK_BOT_TOKEN, or (OAuth installs) the bot token slack_sdk's installation store keeps
for the clinician's workspace.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fake_slack import BOT_TOKEN, FakeSlack
from fake_twilio import sign
from outbox_kit import outbox, run_worker, schedule, wired_parts
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sessionbot.webhooks import routes

EMAIL_BOOKING = "JD tomorrow 3pm by email jd@example.com, intake packet"
TEXT_BOOKING = "JD tomorrow 3pm by text +1 617 555 0101, intake packet"
CLIENT_ID = "1111.2222"


@pytest.fixture
def slack():
    """The fake Slack Web API (tests/fake_slack.py), checking every payload it gets."""
    fake = FakeSlack().start()
    yield fake
    fake.stop()
    assert not fake.problems, fake.problems


def dms(slack, user: str = "U_CLIN1") -> list:
    return [c for c in slack.of("chat.postMessage") if c.args.get("channel") == user]


def install(store, team_id: str, bot_token: str) -> None:
    SQLAlchemyInstallationStore(
        client_id=CLIENT_ID,
        engine=store.engine,
        installations_table_name="slack_installations",
        bots_table_name="slack_bots",
    ).save(
        Installation(
            app_id="A_SESSIONBOT",
            team_id=team_id,
            bot_token=bot_token,
            bot_id="B_BOT",
            bot_user_id="U_BOT",
            bot_scopes="chat:write,im:write",
            user_id="U_ADMIN",
            installed_at=datetime.now(UTC).timestamp(),
        )
    )


def test_a_refused_address_reaches_the_clinician_as_a_dm(
    tmp_path, store, smtp_server, slack, clock
) -> None:
    parts = wired_parts(
        tmp_path, store, smtp=smtp_server, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.url
    )
    smtp_server.recorder.refuse("jd@example.com")
    schedule(parts, EMAIL_BOOKING)
    stats = run_worker(parts)
    assert stats.counts["failed"] == 1 and stats.counts["sent"] == 1  # the DM was sent
    (dm,) = dms(slack)
    assert dm.token == BOT_TOKEN
    assert "invitation for your session with JD" in dm.args["text"]
    assert "550" in dm.args["text"] and "check it" in dm.args["text"]
    assert "jd@example.com" not in dm.args["text"]
    (notice,) = [m for m in outbox(parts) if m.kind == "clinician_notice"]
    assert notice.status == "sent" and notice.provider_ref


def test_a_texted_yes_reaches_the_clinician_as_a_dm(
    tmp_path, store, fake_twilio, slack, clock
) -> None:
    parts = wired_parts(
        tmp_path, store, twilio=fake_twilio, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.url
    )
    schedule(parts, TEXT_BOOKING)
    run_worker(parts)
    form = {"From": "+16175550101", "To": "+15005550006", "Body": "Y", "MessageSid": "SM1"}
    url = "https://sessions.example.test/webhooks/twilio/sms"
    client = TestClient(Starlette(routes=routes(parts)))
    client.post("/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": sign(url, form)})
    run_worker(parts)
    (dm,) = dms(slack)
    assert dm.token == BOT_TOKEN
    assert "JD will attend" in dm.args["text"] and "answered by text" in dm.args["text"]
    assert "+1617" not in dm.args["text"]


def test_with_oauth_installs_the_dm_uses_the_workspaces_own_bot_token(
    tmp_path, store, smtp_server, slack, clock
) -> None:
    parts = wired_parts(
        tmp_path,
        store,
        smtp=smtp_server,
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET="not-a-secret",
        SLACK_API_URL=slack.url,
    )
    install(parts.store, "T_OTHER", "xoxb-other-workspace")
    install(parts.store, "T_TEST", "xoxb-installed-for-t-test")
    smtp_server.recorder.refuse("jd@example.com")
    schedule(parts, EMAIL_BOOKING)
    run_worker(parts)
    (dm,) = dms(slack)
    assert dm.token == "xoxb-installed-for-t-test"
    assert "could not be sent" in dm.args["text"]


def test_a_workspace_that_uninstalled_the_app_gets_no_endless_retries(
    tmp_path, store, smtp_server, slack, clock
) -> None:
    parts = wired_parts(
        tmp_path, store, smtp=smtp_server, SLACK_CLIENT_ID=CLIENT_ID, SLACK_API_URL=slack.url
    )
    smtp_server.recorder.refuse("jd@example.com")
    schedule(parts, EMAIL_BOOKING)
    run_worker(parts)
    assert slack.of("chat.postMessage") == []
    (notice,) = [m for m in outbox(parts) if m.kind == "clinician_notice"]
    assert notice.status == "failed" and "no Slack installation" in (notice.last_error or "")
    clock.shift(timedelta(hours=2))
    assert run_worker(parts).handled == 0


def test_a_slack_outage_delays_the_dm_but_does_not_lose_it(
    tmp_path, store, smtp_server, slack, clock
) -> None:
    parts = wired_parts(
        tmp_path, store, smtp=smtp_server, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.url
    )
    slack.fail_once("chat.postMessage", status=500)
    slack.fail_once("chat.postMessage", status=429, retry_after=1)
    smtp_server.recorder.refuse("jd@example.com")
    schedule(parts, EMAIL_BOOKING)
    for _ in range(4):
        run_worker(parts)
        clock.shift(timedelta(minutes=5))
    assert len(slack.of("chat.postMessage")) == 3
    (notice,) = [m for m in outbox(parts) if m.kind == "clinician_notice"]
    assert notice.status == "sent" and notice.attempts == 3
