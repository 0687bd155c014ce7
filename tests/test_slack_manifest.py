"""The app manifest a clinic pastes into Slack, and logs that name no participant."""

# ruff: noqa: F811 (pytest fixtures are imported from fake_slack and named as arguments)
from __future__ import annotations

import json
import logging

import pytest
from fake_slack import Person, clinician, fake_slack, running, slack_parts  # noqa: F401

from sessionbot.cli import main


def test_manifest_has_what_the_bot_needs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--url", "https://bot.clinic.example/", "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "chat:write",
        "commands",
        "im:history",
        "im:write",
        "users:read",
    }
    commands = {c["command"]: c["url"] for c in manifest["features"]["slash_commands"]}
    assert commands == {
        "/schedule": "https://bot.clinic.example/slack/events",
        "/sessions": "https://bot.clinic.example/slack/events",
    }
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["message.im", "app_home_opened"]
    assert settings["interactivity"]["message_menu_options_url"].endswith("/slack/events")
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["oauth_config"]["redirect_urls"] == [
        "https://bot.clinic.example/slack/oauth_redirect"
    ]


def test_manifest_prints_yaml_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--url", "https://bot.clinic.example"]) == 0
    assert "command: /schedule" in capsys.readouterr().out


def test_no_participant_data_in_logs(clinician: Person, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clinician.say("Jane Doe tomorrow 3pm by text +1 617 555 0101, intake packet")
    clinician.say("Pacific")
    clinician.say("save")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("Jane", "617", "5550101"):
        assert secret not in logged
