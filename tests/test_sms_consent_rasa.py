"""Text-message consent through a real Rasa assistant, as in the embedded runner: the
question, its Yes button and a typed "no" (tests/test_rasa.py's stack, with a practice
that asks)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import actions_process
import pytest
import rasa_kit
from conftest import TEST_KEY
from test_rasa import missing, stored, texts
from test_sms_consent import ASKING

from actions.context import open_store
from ground.settings import Settings


@pytest.fixture(scope="module")
def asking_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rasa_kit.Stack]:
    try:
        rasa_kit.ensure_rasa()
    except rasa_kit.Unavailable as exc:
        missing(exc)
    workdir = tmp_path_factory.mktemp("rasa_consent")
    practice = workdir / "practice.toml"
    practice.write_text(ASKING)
    env = {
        **os.environ,
        "SESSIONBOT_DATA_DIR": str(workdir / "data"),
        "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY,
        "SESSIONBOT_PUBLIC_URL": "https://sessions.example.test",
        "SESSIONBOT_PRACTICE_FILE": str(practice),
    }
    env.pop("SESSIONBOT_DATABASE_URL", None)
    env.update(actions_process.CLIENT_ENV)
    store = open_store(Settings.from_env(env, dotenv=False))
    actions_process.install_team(store, "T_RASA")
    store.dispose()
    with rasa_kit.running_stack(workdir, env) as running:
        yield running
        for log in (running.rasa_log, running.actions_log):
            text = Path(log).read_text(errors="replace")
            assert "Traceback" not in text, log.name


def test_consent_is_asked_and_yes_and_no_work_through_rasa(asking_stack) -> None:
    sender = "T_RASA:U_CONSENT"
    said = asking_stack.say(sender, "JD tomorrow 3pm by text +1 617 555 0101, no documents")
    assert "Has JD agreed to get text messages at +1 617-555-0101?" in " ".join(texts(said))
    yes = next(b["payload"] for m in said for b in m.get("buttons") or []
               if b["title"] == "Yes, they agreed")  # fmt: skip
    words = " ".join(texts(asking_stack.say(sender, yes)))
    assert "JD agreed to get text messages" in words
    for line in ("Pacific", "save"):
        words = " ".join(texts(asking_stack.say(sender, line)))
    assert "Saved" in words, words
    (session,) = stored(asking_stack, sender)
    assert session["invite_channel"] == "sms"

    other = "T_RASA:U_CONSENT2"
    said = asking_stack.say(other, "KL tomorrow 4pm by text +1 617 555 0177, no documents")
    assert "Has KL agreed to get text messages" in " ".join(texts(said))
    words = " ".join(texts(asking_stack.say(other, "no")))
    assert "Then no text messages to KL" in words, words
