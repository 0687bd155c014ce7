"""The app manifest a clinic pastes into Slack, and logs that name no participant."""

from __future__ import annotations

import json
import logging

import pytest
from fake_slack import Person

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
    assert settings["event_subscriptions"]["bot_events"] == [
        "message.im",
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    ]
    assert settings["interactivity"]["message_menu_options_url"].endswith("/slack/events")
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["oauth_config"]["redirect_urls"] == [
        "https://bot.clinic.example/slack/oauth_redirect"
    ]


def test_manifest_prints_yaml_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--url", "https://bot.clinic.example"]) == 0
    assert "command: /schedule" in capsys.readouterr().out


def test_the_bot_user_name_is_made_from_the_app_name_as_slack_wants_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["manifest", "--url", "https://bot.clinic.example", "--json"]
    assert main([*args, "--name", "Rivera Clinic Sessions"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["display_information"]["name"] == "Rivera Clinic Sessions"
    assert manifest["features"]["bot_user"]["display_name"] == "rivera-clinic-sessions"


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--name", "A" * 36], "36 characters; Slack allows at most 35"),
        (["--name", "   "], "app name (--name) is empty"),
        (["--bot-name", "Rivera Bot"], "'Rivera Bot' is not one Slack accepts"),
        (["--bot-name", "rivera bot"], "no spaces"),
        (["--bot-name", "x" * 81], "at most 80"),
    ],
)
def test_names_slack_would_refuse_are_refused_with_exit_code_2(
    capsys: pytest.CaptureFixture[str], extra: list[str], said: str
) -> None:
    assert main(["manifest", "--url", "https://bot.clinic.example", *extra]) == 2
    out, err = capsys.readouterr()
    assert out == "" and said in err


def test_a_name_of_35_characters_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--url", "https://bot.clinic.example", "--name", "A" * 35]) == 0
    assert "A" * 35 in capsys.readouterr().out


def test_a_plain_http_url_needs_the_local_testing_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["manifest", "--url", "http://localhost:8000", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "is not https" in err and "--local-testing" in err
    assert main(["manifest", "--url", "http://localhost:8000", "--json", "--local-testing"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["settings"]["event_subscriptions"]["request_url"] == (
        "http://localhost:8000/slack/events"
    )


@pytest.mark.parametrize("url", ["bot.clinic.example", "ftp://bot.clinic.example", "https://"])
def test_what_is_not_a_web_address_is_refused(capsys: pytest.CaptureFixture[str], url: str) -> None:
    assert main(["manifest", "--url", url, "--local-testing"]) == 2
    assert "is not a web address" in capsys.readouterr().err


def test_no_participant_data_in_logs(clinician: Person, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clinician.say("Jane Doe tomorrow 3pm by text +1 617 555 0101, intake packet")
    clinician.say("Pacific")
    clinician.say("save")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    # The phone as typed and as stored; not "617" alone, which a random request id in
    # the HTTP client's debug lines (16 hex digits) holds now and then.
    for secret in ("Jane", "617 555", "6175550101", "5550101"):
        assert secret not in logged
