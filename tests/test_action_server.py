"""`sessionbot actions` is rasa-sdk's own action server serving the same actions: a
Rasa-shaped /webhook request gets the events the embedded runner applies."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from actions_process import CLIENT_ENV, ActionsProcess, actions_process, install_team, stop
from conftest import TEST_KEY

from dialogue.runner import _run
from store.db import Store


def actions_env(tmp_path: Path, **more: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SESSIONBOT_DATA_DIR": str(tmp_path / "data"),
        "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY,
        **CLIENT_ENV,
    }
    for name in ("SESSIONBOT_DATABASE_URL", "SESSIONBOT_ACTIONS_TOKEN", "SANIC_HOST"):
        env.pop(name, None)
    env.update(more)
    return env


def url_of(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def action_server(tmp_path: Path, sqlite_store: Store) -> Iterator[httpx.Client]:
    """The server on the SQLite store `parts` uses, T_RASA installed; a client that
    sends its token as Rasa does."""
    install_team(sqlite_store, "T_RASA")
    env = actions_env(tmp_path, SESSIONBOT_DATABASE_URL=url_of(sqlite_store))
    with (
        actions_process(tmp_path, env, tmp_path / "actions.log") as server,
        server.client(timeout=30) as client,
    ):
        yield client


@pytest.fixture
def served(tmp_path: Path, store: Store) -> Iterator[tuple[ActionsProcess, Store]]:
    """The server on each backend's store (T_RASA installed), payments set up, and the
    store, to see what it wrote."""
    install_team(store, "T_RASA")
    env = actions_env(
        tmp_path, SESSIONBOT_DATABASE_URL=url_of(store), STRIPE_API_KEY="sk_test_fake_not_real"
    )
    with actions_process(tmp_path, env, tmp_path / "actions.log") as server:
        yield server, store


def test_the_action_server_serves_the_socket_it_is_handed_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    """Stopped the moment it first answers. (Sanic's multi-process manager never ends on a
    SIGTERM that comes before its worker's start-up ack; on a handed-over socket the
    server runs in one process, with no manager.)"""
    with actions_process(tmp_path, actions_env(tmp_path), tmp_path / "actions.log") as server:
        assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
        assert stop(server, timeout=10) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.url}/health")
    assert "Server Stopped" in server.log.read_text()


def test_actions_takes_a_port_or_a_socket_not_both(capsys) -> None:
    from sessionbot.cli import main

    for both in (["--port", "5055", "--fd", "3"], ["--host", "127.0.0.1", "--fd", "3"]):
        with pytest.raises(SystemExit) as exited:
            main(["actions", *both])
        assert exited.value.code == 2
        assert "--fd" in capsys.readouterr().err


def rasa_request(text: str, slots: dict) -> dict:
    """What a Rasa server posts: its NLU found no entities, so our extract_ methods read text."""
    tracker = {
        "sender_id": "T_RASA:U_RASA",
        "slots": slots,
        "latest_message": {"text": text, "intent": {"name": "inform"}, "entities": []},
        "events": [{"event": "user", "text": text}],
        "active_loop": {"name": "schedule_form"},
        "latest_action_name": "action_listen",
        "paused": False,
        "followup_action": None,
    }
    from dialogue.domain import load_domain

    return {
        "next_action": "validate_schedule_form",
        "sender_id": "T_RASA:U_RASA",
        "tracker": tracker,
        "domain": load_domain(),
        "version": "3.10.0",
    }


def _a_day_ahead() -> str:
    """Tomorrow in New York: "3pm" on it is never past, whatever the hour this runs at (the
    action server is another process, so its clock cannot be frozen from here)."""
    return (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=1)).date().isoformat()


def test_rasa_webhook_gives_the_same_events_as_the_embedded_runner(action_server, parts) -> None:
    today = _a_day_ahead()
    slots = {
        "clinician_tz": "America/New_York",
        "requested_slot": "participant",
        "date": today,
        "draft_id": "d-1",
    }
    payload = rasa_request(
        "JD by text +1 617 555 0101, London time, intake packet, Dec 3 4pm", slots
    )

    over_http = action_server.post("/webhook", json=payload).json()
    embedded = _run(parts.runner.executor.run(payload))

    assert over_http["events"] == embedded.events
    values = {e["name"]: e["value"] for e in over_http["events"]}
    assert values["participant"] == "JD"
    assert values["phone"] == "+16175550101"
    assert values["invite_channel"] == "sms"
    assert values["participant_tz"] == "Europe/London"
    assert values["documents"] == "intake"
    assert values["time"] == "16:00"
    assert values["requested_slot"] is None


def test_action_server_lists_every_action_of_the_domain(action_server) -> None:
    from dialogue.domain import load_domain

    served = {a["name"] for a in action_server.get("/actions").json()}
    assert set(load_domain()["actions"]) <= served


def call(action: str, tracker: dict, *, domain: bool = True) -> dict:
    from dialogue.domain import load_domain

    payload = {"next_action": action, "sender_id": tracker.get("sender_id"), "tracker": tracker}
    if domain:
        payload["domain"] = load_domain()
    return payload


def test_an_error_answers_with_an_apology_and_no_body_or_log_carries_the_tracker(
    action_server, tmp_path: Path
) -> None:
    broken = {
        "sender_id": "T_RASA:U_RASA",
        "slots": {"clinician_tz": "Not/AZone", "draft_id": "d-1", "requested_slot": "email"},
        "latest_message": {"text": "Jane Doe jane.doe@example.com +1 617 555 0199"},
        "events": [],
    }
    answer = action_server.post("/webhook", json=call("validate_schedule_form", broken))
    assert answer.status_code == 200
    (message,) = answer.json()["responses"]
    assert message["text"].startswith("Sorry, something went wrong on my side")
    assert answer.json()["events"] == []

    garbage = action_server.post("/webhook", content=b"{not json: jane.doe@example.com")
    assert garbage.status_code == 400
    assert garbage.json() == {"error": "bad request"}

    time.sleep(0.5)
    log = (tmp_path / "actions.log").read_text(errors="replace")
    assert "action validate_schedule_form failed: ZoneInfoNotFoundError at actions/" in log
    assert "jane.doe" not in log and "555 0199" not in log and "Jane Doe" not in log


def test_a_call_without_the_domain_is_served_not_answered_449(action_server) -> None:
    """Rasa's `enable_selective_domain` leaves the domain out; Rasa 3.6 can't handle 449."""
    today = _a_day_ahead()
    tracker = rasa_request("3pm", {"date": today, "requested_slot": "time", "draft_id": "d-2"})
    answer = action_server.post(
        "/webhook",
        json=call("validate_schedule_form", tracker["tracker"], domain=False),
    )
    assert answer.status_code == 200
    values = {e["name"]: e["value"] for e in answer.json()["events"]}
    assert values["time"] == "15:00"
    assert values["requested_slot"] == "participant"


@pytest.mark.parametrize(
    "tracker",
    [
        {"sender_id": "T_RASA:U_RASA"},
        {"sender_id": "T_RASA:U_RASA", "slots": None, "latest_message": None, "events": None},
        {"sender_id": "T_RASA:U_RASA", "slots": {"date": None, "time": "15:00", "draft_id": "x"}},
        {"sender_id": "nobody", "slots": {"draft_id": "x"}},
    ],
)
def test_every_action_answers_on_a_minimal_tracker(parts, tracker: dict) -> None:
    from actions import SORRY
    from dialogue.domain import load_domain

    for action in load_domain()["actions"]:
        result = _run(parts.runner.executor.run(call(action, dict(tracker))))
        said = [r.get("text") or r.get("response") for r in result.responses]
        assert SORRY not in said, f"{action} failed on {tracker}"
        if action.startswith("action_") and action not in ("action_go_back",):
            assert said, f"{action} said nothing on {tracker}"


def test_save_and_summary_on_an_unfinished_draft_say_what_is_missing(parts) -> None:
    tracker = {"sender_id": "T_RASA:U_RASA", "slots": {"participant": "JD", "draft_id": "d-3"}}
    for action in ("action_save_session", "action_show_summary"):
        result = _run(parts.runner.executor.run(call(action, dict(tracker))))
        (message,) = result.responses
        assert message["text"] == (
            "There's more to answer before I can save: "
            "the date, time, invitation, time zone, documents."
        )
        assert result.events == []


def full_draft(sender: str, draft_id: str, participant: str) -> dict:
    from actions.summary import summary_values

    tomorrow = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=1)).date()
    slots = {
        "date": tomorrow.isoformat(),
        "time": "15:00",
        "participant": participant,
        "invite_channel": "none",
        "participant_tz": "America/New_York",
        "documents": "none",
        "clinician_tz": "America/New_York",
        "draft_id": draft_id,
    }
    # Save stores only what the last summary showed: this draft's summary was shown.
    return {"sender_id": sender, "slots": {**slots, "summary_shown": summary_values(slots)}}


def test_another_clinicians_draft_id_never_answers_with_their_session(parts) -> None:
    """A tracker carrying the first clinician's draft id saves the second's own session."""
    first = _run(parts.runner.executor.run(call("action_save_session", full_draft(
        "T_A:U_FIRST", "shared-draft", "Robin Smith"))))  # fmt: skip
    second = _run(parts.runner.executor.run(call("action_save_session", full_draft(
        "T_B:U_SECOND", "shared-draft", "Sam Park"))))  # fmt: skip

    mine, theirs = first.responses[0], second.responses[0]
    assert mine["text"].startswith("Saved: session with Robin Smith")
    assert theirs["text"].startswith("Saved: session with Sam Park")
    assert theirs["custom"]["session_id"] != mine["custom"]["session_id"]
    assert theirs["custom"]["enter_meeting_url"] != mine["custom"]["enter_meeting_url"]

    # The same clinician saving the same draft again is told so, with their own session.
    again = _run(parts.runner.executor.run(call("action_save_session", full_draft(
        "T_B:U_SECOND", "shared-draft", "Sam Park"))))  # fmt: skip
    assert again.responses[0]["text"] == "That session was already saved."
    assert again.responses[0]["custom"]["session_id"] == theirs["custom"]["session_id"]


def rasa_parsed(text: str, slots: dict, entities: list[tuple[str, str]]) -> dict:
    """A validation call as Rasa 3.6 sends it after its own NLU tagged `entities`."""
    payload = rasa_request(text, slots)
    marked = []
    for name, words in entities:
        start = text.index(words)
        marked.append(
            {
                "entity": name,
                "value": words,
                "start": start,
                "end": start + len(words),
                "extractor": "CRFEntityExtractor",
                "confidence_entity": 0.9,
            }  # fmt: skip
        )
    payload["tracker"]["latest_message"]["entities"] = marked
    payload["tracker"]["events"][0]["parse_data"] = payload["tracker"]["latest_message"]
    return payload


def test_an_entity_from_rasa_never_stops_the_rest_of_the_text_being_read(parts) -> None:
    today = _a_day_ahead()
    slots = {"clinician_tz": "America/New_York", "requested_slot": "time", "date": today}
    slots["draft_id"] = "d-4"
    text = "4pm with JD by text +1 617 555 0101, London time, intake packet"
    result = _run(parts.runner.executor.run(rasa_parsed(text, slots, [("participant", "JD")])))
    values = {e["name"]: e["value"] for e in result.events}
    assert values["participant"] == "JD"
    assert (values["time"], values["phone"], values["participant_tz"]) == (
        "16:00", "+16175550101", "Europe/London")  # fmt: skip
    assert values["documents"] == "intake" and values["requested_slot"] is None


def test_rasa_entities_fill_what_our_reading_left_but_never_words_of_another_slot(parts) -> None:
    today = _a_day_ahead()
    slots = {"clinician_tz": "America/New_York", "requested_slot": "invite_channel"}
    slots.update({"date": today, "time": "23:59", "draft_id": "d-5"})
    # A name our reading leaves alone here (it is not asked, nor marked by "with"/"for")
    # is taken when Rasa's tagger marks it as the participant...
    text = "Robin Smith by email"
    marked = _run(parts.runner.executor.run(
        rasa_parsed(text, slots, [("participant", "Robin Smith")])))  # fmt: skip
    values = {e["name"]: e["value"] for e in marked.events}
    assert values["participant"] == "Robin Smith" and values["invite_channel"] == "email"
    # ...but words that read as another slot on their own are never a participant.
    text = "December 3 by email"
    wrong = _run(parts.runner.executor.run(
        rasa_parsed(text, slots, [("participant", "December")])))  # fmt: skip
    values = {e["name"]: e["value"] for e in wrong.events}
    assert "participant" not in values
    assert values["invite_channel"] == "email"


# The door: token, origin, size, sender, values, log --------------------------------------


def clinicians_and_sessions(store: Store) -> tuple[int, int]:
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        people = conn.execute(sa.text("SELECT count(*) FROM clinicians")).scalar_one()
        sessions = conn.execute(sa.text("SELECT count(*) FROM scheduled_sessions")).scalar_one()
    return int(people), int(sessions)


def test_without_the_token_every_call_is_401_and_nothing_is_stored(served) -> None:
    server, store = served
    save = call("action_save_session", full_draft("T_RASA:U_DOOR", "d-door", "Robin Smith"))
    save["tracker"]["slots"]["payment_required"] = False
    save["tracker"]["slots"]["summary_shown"]["payment_required"] = False
    refused = [
        httpx.post(f"{server.url}/webhook", json=save),
        httpx.post(f"{server.url}/webhook", params={"token": "not-the-token"}, json=save),
        httpx.post(f"{server.url}/webhook", params={"token": ""}, json=save),
        httpx.get(f"{server.url}/actions"),
        httpx.get(f"{server.url}/actions", params={"token": server.token[:-1]}),
        httpx.post(f"{server.url}/anything-else?token=x", content=b"Robin Smith"),
    ]
    for answer in refused:
        assert answer.status_code == 401
        assert answer.json() == {"error": "unauthorized"}
    assert clinicians_and_sessions(store) == (0, 0)
    # /health stays open (a supervisor's probe); it says nothing but "ok".
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}

    with server.client() as rasa:
        saved = rasa.post("/webhook", json=save)
    assert saved.status_code == 200
    assert saved.json()["responses"][0]["text"].startswith("Saved: session with Robin Smith")
    assert clinicians_and_sessions(store) == (1, 1)
    assert server.token not in server.log.read_text(errors="replace")


def test_no_origin_is_allowed_and_a_preflight_is_refused(action_server) -> None:
    origin = {"Origin": "https://evil.example"}
    preflight = action_server.options(
        "/webhook",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code >= 400
    assert "access-control-allow-origin" not in preflight.headers
    for answer in (
        action_server.get("/actions", headers=origin),
        action_server.get("/health", headers=origin),
        action_server.post(
            "/webhook",
            headers=origin,
            json=call("action_list_sessions", {"sender_id": "T_RASA:U_RASA"}),
        ),  # fmt: skip
        httpx.get(f"{str(action_server.base_url).rstrip('/')}/actions", headers=origin),
    ):
        assert "access-control-allow-origin" not in answer.headers
        assert "access-control-allow-methods" not in answer.headers


def test_a_body_over_the_limit_is_413_before_it_is_read(action_server, tmp_path) -> None:
    import zlib

    two_mib = b'{"next_action": "action_list_sessions", "pad": "' + b"x" * (2 << 20) + b'"}'
    answer = action_server.post(
        "/webhook", content=two_mib, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json() == {"error": "too large"}
    time.sleep(0.5)  # the log is written on a logging thread
    assert "over the body limit (2048 KiB)" in (tmp_path / "actions.log").read_text()

    # Rasa may deflate its calls: a small body that inflates past the limit is 413 too.
    bomb = zlib.compress(two_mib, 9)
    assert len(bomb) < 64 * 1024
    answer = action_server.post("/webhook", content=bomb, headers={"Content-Encoding": "deflate"})
    assert answer.status_code == 413


def test_a_sender_of_no_installed_workspace_gets_a_refusal_and_nothing_is_made(served) -> None:
    from actions import NOT_YOURS

    server, store = served
    senders = [f"T_MADEUP{i}:U_{i}" for i in range(5)] + ["T_LOCAL:U_MADEUP", "nobody"]
    with server.client(timeout=30) as rasa:
        for sender in senders:
            for payload in (
                call("action_save_session", full_draft(sender, f"d-{sender}", "Sam Park")),
                rasa_request("Sam Park tomorrow 3pm", {"requested_slot": "participant"}),
                call("action_ask_participant", {"sender_id": sender}),
                call("action_start_over", {"sender_id": sender}),
                call(
                    "action_set_agenda",
                    {"sender_id": sender, "latest_message": {"text": "send me my agenda at 7:30"}},
                ),  # fmt: skip
            ):
                payload["sender_id"] = payload["tracker"]["sender_id"] = sender
                answer = rasa.post("/webhook", json=payload)
                assert answer.status_code == 200, sender
                assert answer.json()["events"] == []
                (said,) = answer.json()["responses"]
                assert said["text"] == NOT_YOURS
    assert clinicians_and_sessions(store) == (0, 0)


BAD_VALUES: list[tuple[str, dict[str, object]]] = [
    ("email", {"invite_channel": "email", "email": "a@b.example\r\nBcc: x@evil.example"}),
    ("email", {"invite_channel": "email", "email": "not an address"}),
    ("phone", {"invite_channel": "sms", "phone": "12345"}),
    ("phone", {"invite_channel": "sms", "phone": "+1 617 555 0101\nBcc"}),
    ("amount", {"payment_required": True, "service": "followup", "amount": "-5"}),
    ("amount", {"payment_required": True, "service": "followup", "amount": "99999"}),
    ("service", {"payment_required": True, "service": "made-up", "amount": "50"}),
    ("participant_tz", {"participant_tz": "Mars/Olympus"}),
    ("participant", {"participant": "J"}),
    ("documents", {"documents": "../../etc/passwd"}),
]


def test_save_checks_every_value_again_and_stores_nothing_it_would_refuse(served) -> None:
    """A tracker posted from outside never went through the form's validation."""
    from actions.summary import summary_values

    server, store = served
    with server.client(timeout=30) as rasa:
        for i, (slot, values) in enumerate(BAD_VALUES):
            tracker = full_draft("T_RASA:U_POSTED", f"d-bad-{i}", "Robin Smith")
            tracker["slots"].update({"payment_required": False, **values})
            tracker["slots"]["summary_shown"] = summary_values(tracker["slots"])
            answer = rasa.post("/webhook", json=call("action_save_session", tracker))
            assert answer.status_code == 200, values
            (said,) = answer.json()["responses"]
            assert said["text"].startswith("Nothing was saved"), (values, said["text"])
            assert {"event": "slot", "name": slot, "value": None} in [
                {k: e.get(k) for k in ("event", "name", "value")} for e in answer.json()["events"]
            ], values
        # A start in the past is refused too (a tracker's date and time are not checked
        # by anyone before Save).
        past = full_draft("T_RASA:U_POSTED", "d-past", "Robin Smith")
        past["slots"]["payment_required"] = False
        past["slots"]["date"] = (datetime.now(ZoneInfo("America/New_York")).date()
                                 - timedelta(days=3)).isoformat()  # fmt: skip
        past["slots"]["summary_shown"] = summary_values(past["slots"])
        answer = rasa.post("/webhook", json=call("action_save_session", past))
        assert "saved" not in answer.json()["responses"][0]["custom"]["kind"]
        assert clinicians_and_sessions(store)[1] == 0
        # The same draft with good values is saved.
        good = full_draft("T_RASA:U_POSTED", "d-good", "Robin Smith")
        good["slots"].update(
            {"invite_channel": "sms", "phone": "+16175550101", "participant_tz": "Europe/London",
             "payment_required": True, "service": "followup", "amount": "120.00"})  # fmt: skip
        good["slots"]["summary_shown"] = summary_values(good["slots"])
        answer = rasa.post("/webhook", json=call("action_save_session", good))
        assert answer.json()["responses"][0]["custom"]["kind"] == "saved"
    assert clinicians_and_sessions(store)[1] == 1


def test_an_unknown_action_name_is_404_and_never_reaches_the_log(action_server, tmp_path) -> None:
    name = "action_Robin Quixote-Smith owes 4111 on Dec 3"
    answer = action_server.post(
        "/webhook", json=call(name, {"sender_id": "T_RASA:U_RASA"}, domain=False)
    )
    assert answer.status_code == 404
    assert answer.json() == {"error": "unknown action"}
    time.sleep(0.5)
    log = (tmp_path / "actions.log").read_text(errors="replace")
    assert "Quixote" not in log


@pytest.mark.parametrize("how", ["--fd", "--host"])
def test_beyond_loopback_without_a_token_it_will_not_start(tmp_path: Path, how: str) -> None:
    import socket
    import subprocess
    import sys

    env = actions_env(tmp_path, SESSIONBOT_ACTIONS_TOKEN="")
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen(8)
    if how == "--fd":
        args, fds = ["--fd", str(listener.fileno())], [listener.fileno()]
    else:
        port = listener.getsockname()[1]
        listener.close()
        args, fds = ["--host", "0.0.0.0", "--port", str(port)], []
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sessionbot.cli", "actions", *args],
            env=env, pass_fds=fds, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    finally:
        listener.close()
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert "SESSIONBOT_ACTIONS_TOKEN" in line and "0.0.0.0" in line
    assert not (tmp_path / "data").exists()  # nothing was made before refusing


def test_it_listens_on_loopback_unless_told_otherwise(monkeypatch) -> None:
    from sessionbot.action_server import default_host

    monkeypatch.delenv("SANIC_HOST", raising=False)
    assert default_host() == "127.0.0.1"


def test_one_workspace_by_token_serves_its_own_senders_only(tmp_path: Path, fake_slack) -> None:
    """SLACK_BOT_TOKEN alone: the workspace is the token's (Slack's auth.test, asked once);
    a revoked workspace is served no more."""
    from fake_slack import BOT_TOKEN

    from actions import NOT_YOURS

    env = actions_env(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake_slack.url)
    for name in CLIENT_ENV:
        env.pop(name)

    def said(rasa: httpx.Client, sender: str) -> str:
        answer = rasa.post("/webhook", json=call("action_list_sessions", {"sender_id": sender}))
        return answer.json()["responses"][0]["text"]

    with (
        actions_process(tmp_path, env, tmp_path / "actions.log") as server,
        server.client(timeout=30) as rasa,
    ):
        assert said(rasa, "T1:U_CLIN1") == "You have no upcoming sessions."
        assert said(rasa, "T1:U_CLIN2") == "You have no upcoming sessions."
        assert said(rasa, "T2:U_CLIN1") == NOT_YOURS
        assert len(fake_slack.of("auth.test")) == 1

        from actions.context import open_store
        from ground.settings import Settings
        from integrations.slack_notify import token_hash
        from store import slack_rows

        store = open_store(Settings.from_env(env, dotenv=False))
        with store.unit() as s:
            slack_rows.revoke_slack_workspace(
                s, "T1", reason="tokens_revoked", token_hash=token_hash(BOT_TOKEN),
                dropped_because="revoked",
            )  # fmt: skip
        store.dispose()
        assert said(rasa, "T1:U_CLIN1") == NOT_YOURS
