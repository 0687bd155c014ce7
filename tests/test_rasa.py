"""A real Rasa Open Source 3.6 assistant (dialogue/rasa) drives sessionbot's actions.

`rasa run --enable-api` on the trained assistant and `sessionbot actions` run on
loopback ports; whole conversations go over Rasa's REST channel, as a clinician "TEAM:USER"
would hold them. They are judged by what `sessionbot sessions --team T --user U --json`
shows was stored and by the replies, side by side with the same messages through the
embedded runner. Skipped, with the reason, where no Python 3.8-3.10 exists for Rasa.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import actions_process
import pytest
import rasa_kit
from conftest import TEST_KEY

from actions.context import open_store
from dialogue.turn_io import Who
from ground.settings import Settings
from sessionbot.wiring import Parts, build

EASTERN = ZoneInfo("America/New_York")
PLACEHOLDER = re.compile(r"\{[A-Za-z_]+\}")


def missing(exc: Exception) -> None:
    """No Rasa here: skipped with the reason on a developer's machine, a failure in CI
    (`.ci/run` installs it, so a Rasa missing there is a broken run, not a pass)."""
    if os.environ.get("CI"):
        pytest.fail(f"Rasa is required in CI: {exc}")
    pytest.skip(str(exc))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rasa_kit.Stack]:
    try:
        rasa_kit.ensure_rasa()
    except rasa_kit.Unavailable as exc:
        missing(exc)
    workdir = tmp_path_factory.mktemp("rasa")
    env = {
        **os.environ,
        "SESSIONBOT_DATA_DIR": str(workdir / "data"),  # a shared SQLite file
        "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY,
        "SESSIONBOT_PUBLIC_URL": "https://sessions.example.test",
    }
    env.pop("SESSIONBOT_DATABASE_URL", None)
    # The senders' workspace is one the app is installed in: the action server serves
    # only those (and the terminal's clinician).
    env.update(actions_process.CLIENT_ENV)
    store = open_store(Settings.from_env(env, dotenv=False))
    actions_process.install_team(store, "T_RASA")
    store.dispose()
    with rasa_kit.running_stack(workdir, env) as running:
        yield running
        # Health data never reaches Rasa's log (rasa-sdk's error bodies echo the tracker).
        for log in (running.rasa_log, running.actions_log):
            text = log.read_text(errors="replace")
            assert "617 555" not in text and "example.com" not in text, log.name
            assert "Traceback" not in text, log.name


def stored(stack: rasa_kit.Stack, sender: str) -> list[dict]:
    team, user = sender.split(":")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sessionbot.cli",
            "sessions",
            "--team",
            team,
            "--user",
            user,
            "--json",
        ],  # fmt: skip
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def texts(messages: list[dict]) -> list[str]:
    """What the clinician reads: Rasa's REST channel sends a message's `custom` apart."""
    return [m["text"] for m in messages if m.get("text")]


def converse(stack: rasa_kit.Stack, sender: str, lines: list[str]) -> list[list[str]]:
    replies = []
    for line in lines:
        said = texts(stack.say(sender, line))
        assert said, f"Rasa said nothing to {line!r}"
        for text in said:
            assert not PLACEHOLDER.search(text), f"a raw placeholder in {text!r}"
        replies.append(said)
    return replies


@pytest.fixture
def embedded(tmp_path: Path) -> Parts:
    env = {
        "SESSIONBOT_DATA_DIR": str(tmp_path / "embedded"),
        "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY,
        "SESSIONBOT_PUBLIC_URL": "https://sessions.example.test",
        "HOME": str(tmp_path),
    }
    return build(Settings.from_env(env))


def converse_embedded(parts: Parts, sender: str, lines: list[str]) -> list[list[str]]:
    team, user = sender.split(":")
    who = Who(team, user)
    return [[m.text for m in parts.runner.handle(who, line).messages] for line in lines]


def comparable(record: dict) -> dict:
    """A stored session without what is made fresh for each (ids, links)."""
    drop = {"id", "enter_meeting_url", "participant_url"}
    kept = {k: v for k, v in record.items() if k not in drop}
    if "participants" in kept:
        kept["participants"] = [
            {k: v for k, v in p.items() if k not in drop} for p in kept["participants"]
        ]
    return kept


def embedded_stored(parts: Parts, sender: str) -> list[dict]:
    """What the embedded runner stored for the sender, as `sessionbot sessions --json`."""
    from sessionbot.cli import session_record
    from store import clinician_rows, session_rows

    team, user = sender.split(":")
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, team, user)
        rows = session_rows.list_sessions(s, clinician.id, after=None, limit=50)
        url = "https://sessions.example.test"
        return [comparable(dict(session_record(r, parts.practice, url))) for r in rows]


def tomorrow_at(hour: int, minute: int = 0) -> str:
    day = datetime.now(EASTERN).date() + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=EASTERN)
    return start.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")


def test_one_message_schedules_a_session_as_the_embedded_runner_does(stack, embedded) -> None:
    lines = ["JD tomorrow 3pm by text +1 617 555 0101, London time, intake packet", "save"]
    replies = converse(stack, "T_RASA:U_ONE", lines)

    assert replies[0][-1].startswith("*New scheduled session*")
    assert replies[1][0].startswith("Saved: session with JD")
    (session,) = stored(stack, "T_RASA:U_ONE")
    assert session["participant"] == "JD"
    assert session["phone"] == "+16175550101"
    assert session["invite_channel"] == "sms"
    assert session["participant_tz"] == "Europe/London"
    assert session["documents"] == "intake"
    assert session["start"] == tomorrow_at(15)

    assert converse_embedded(embedded, "T_RASA:U_ONE", lines) == replies
    assert embedded_stored(embedded, "T_RASA:U_ONE") == [comparable(session)]


def test_she_speaks_spanish_sets_the_language_as_in_the_embedded_runner(stack, embedded) -> None:
    lines = [
        "Ana Ruiz tomorrow 3pm by text +1 617 555 0101, no documents, Pacific, she speaks spanish",
        "save",
    ]
    replies = converse(stack, "T_RASA:U_LANG", lines)

    assert "The participant's messages and page will be in Spanish." in replies[0]
    assert "• Language: Spanish" in replies[0][-1]
    assert replies[1][0].startswith("Saved: session with Ana Ruiz")
    assert converse_embedded(embedded, "T_RASA:U_LANG", lines) == replies


def test_a_length_said_and_changed_is_saved_as_in_the_embedded_runner(stack, embedded) -> None:
    """The slot table's slots go through a Rasa server as through the embedded runner."""
    lines = [
        "Jo Park tomorrow 3pm for 90 minutes, no invitation, no documents, Pacific",
        "make it 45 minutes",
        "save",
    ]
    replies = converse(stack, "T_RASA:U_LEN", lines)

    assert "The session will last 90 minutes (1 h 30)." in replies[0]
    assert "The session will last 45 minutes." in replies[1]
    assert "45 min  ✎ _changed_" in replies[1][-1]
    (session,) = stored(stack, "T_RASA:U_LEN")
    assert session["duration_min"] == 45
    assert converse_embedded(embedded, "T_RASA:U_LEN", lines) == replies
    assert embedded_stored(embedded, "T_RASA:U_LEN") == [comparable(session)]


def test_a_time_in_the_participants_zone_and_their_national_number_as_embedded(
    stack, embedded
) -> None:
    lines = [
        "JD tomorrow 9am, she's in London, text her on 07911 123456, no documents",
        "make it 3pm her time",
        "save",
    ]
    replies = converse(stack, "T_RASA:U_THEIRS", lines)

    # Tomorrow's 3 PM in London, on the clinician's clock (5 hours apart most of the year).
    day = datetime.now(EASTERN).date() + timedelta(days=1)
    here = datetime(day.year, day.month, day.day, 15, tzinfo=ZoneInfo("Europe/London"))
    here = here.astimezone(EASTERN)
    assert replies[1][0] == f"3:00 PM London is {here:%-I:%M %p} your time."
    (session,) = stored(stack, "T_RASA:U_THEIRS")
    assert session["phone"] == "+447911123456"
    assert session["participant_tz"] == "Europe/London"
    assert session["start"] == tomorrow_at(here.hour, here.minute)
    assert converse_embedded(embedded, "T_RASA:U_THEIRS", lines) == replies
    assert embedded_stored(embedded, "T_RASA:U_THEIRS") == [comparable(session)]


STEP_BY_STEP = [
    "schedule a session",
    "tomorrow",
    "3pm",
    "Jane Doe",
    "email",
    "jane@example.com",
    "same",
    "none",
    "make it 4pm instead",
    "save",
]


def test_step_by_step_with_a_correction_at_the_summary(stack, embedded) -> None:
    replies = converse(stack, "T_RASA:U_STEPS", STEP_BY_STEP)

    assert replies[2] == ["Who is the session with? Type a name or initials."]
    assert replies[1][0].startswith("What time on ")  # the day, said by an action
    # Nothing is acknowledged as changed before something changes...
    assert not [t for reply in replies[:8] for t in reply if "→" in t]
    # ...and the correction is acknowledged once, alone, old → new, then the summary again.
    assert replies[8][0] == "Time: 3:00 PM → 4:00 PM."
    assert [t for t in replies[8] if "→" in t] == [replies[8][0]]
    assert "4:00 PM" in replies[8][1]
    (session,) = stored(stack, "T_RASA:U_STEPS")
    assert (session["participant"], session["email"]) == ("Jane Doe", "jane@example.com")
    assert session["start"] == tomorrow_at(16)
    assert session["documents"] is None

    assert converse_embedded(embedded, "T_RASA:U_STEPS", STEP_BY_STEP) == replies
    assert embedded_stored(embedded, "T_RASA:U_STEPS") == [comparable(session)]


def test_save_before_the_form_is_done_says_what_is_missing(stack, embedded) -> None:
    lines = ["Ann Lee tomorrow 10am", "save", "no invitation", "same", "none", "save"]
    replies = converse(stack, "T_RASA:U_EARLY", lines)

    assert replies[1][0] == (
        "There's more to answer before I can save: the invitation, time zone, documents."
    )
    assert replies[1][1] == "How should I invite Ann Lee?"
    (session,) = stored(stack, "T_RASA:U_EARLY")
    assert (session["participant"], session["invite_channel"]) == ("Ann Lee", "none")
    assert converse_embedded(embedded, "T_RASA:U_EARLY", lines) == replies


def test_control_words_go_as_in_the_embedded_runner(stack, embedded) -> None:
    lines = [
        "Kim Lo tomorrow 9am by email kim@example.com",
        "help",
        "back",
        "start over",
        "Friday",
        "change the date",
        "cancel",
        "cancel",
        "sessions",
    ]
    replies = converse(stack, "T_RASA:U_CONTROL", lines)

    assert replies[-3] == ["Cancelled. Nothing was saved."]
    assert replies[-2][0].startswith("There's nothing in progress to cancel.")
    assert stored(stack, "T_RASA:U_CONTROL") == []
    assert converse_embedded(embedded, "T_RASA:U_CONTROL", lines) == replies


def test_cancel_my_3pm_asks_with_buttons_and_cancels_as_in_the_embedded_runner(
    stack, embedded
) -> None:
    """A saved session cancelled in words: asked with Cancel it / Keep it, cancelled only
    by the click; on Rasa (its rules, the button's payload) as in the runner."""
    sender = "T_RASA:U_CANCEL"
    booked = ["JD tomorrow 3pm by email jd@example.com, London time, no documents", "save"]

    def cancel(say) -> list[list[str]]:
        asked = say("cancel my 3pm")
        (question,) = [m for m in asked if m.get("buttons")]
        titles = [b["title"] for b in question["buttons"]]
        assert titles == ["Cancel it", "Keep it"], titles
        kept = say(question["buttons"][1]["payload"])
        done = say(question["buttons"][0]["payload"])
        return [texts(asked), texts(kept), texts(done)]

    converse(stack, sender, booked)
    assert len(stored(stack, sender)) == 1
    on_rasa = cancel(lambda line: stack.say(sender, line))
    assert on_rasa[0][-1].startswith("Cancel the session with JD on ")
    assert on_rasa[1] == ["OK, the session is kept."]
    assert on_rasa[2][0].startswith("Cancelled the session with JD on ")
    assert stored(stack, sender) == []  # no upcoming session left

    team, user = sender.split(":")
    converse_embedded(embedded, sender, booked)

    def embedded_say(line: str) -> list[dict]:
        reply = embedded.runner.handle(Who(team, user), line)
        return [
            {
                "text": m.text,
                "buttons": [{"title": b.title, "payload": b.payload} for b in m.buttons],
            }
            for m in reply.messages
        ]

    assert cancel(embedded_say) == on_rasa


def test_refusals_at_the_summary_save_nothing_as_in_the_embedded_runner(stack, embedded) -> None:
    """Issue 18: a refusal saves nothing and says so, on Rasa as in the runner; the save
    action reads the words itself, whatever intent the classifier gave."""
    lines = [
        "JD tomorrow 3pm by text +1 617 555 0101, London time, intake packet",
        "don't save",
        "do not send it yet",
        "hold off",
        "don't cancel it",
        "save",
    ]
    replies = converse(stack, "T_RASA:U_HOLD", lines)

    assert replies[1] == replies[2] == replies[3] == ["OK, not saved. Say save when it's ready."]
    assert replies[4] == ["OK, not cancelled: the draft is kept."]
    assert replies[5][0].startswith("Saved: session with JD")
    assert len(stored(stack, "T_RASA:U_HOLD")) == 1
    assert converse_embedded(embedded, "T_RASA:U_HOLD", lines) == replies


def test_no_at_the_summary_saves_nothing_and_says_so(stack) -> None:
    lines = ["JD tomorrow 3pm by text +1 617 555 0101, London time, intake packet", "no"]
    replies = converse(stack, "T_RASA:U_NO", lines)

    assert replies[1][0] == "OK, not saved. Say save when it's ready."
    assert stored(stack, "T_RASA:U_NO") == []


def test_a_dictated_booking_as_in_the_embedded_runner(stack, embedded) -> None:
    lines = [
        "JD tomorrow at four fifteen p m by text six one seven five five five zero one zero "
        "one comma London time comma no forms period",
        "save",
    ]
    replies = converse(stack, "T_RASA:U_DICTATED", lines)

    sessions = stored(stack, "T_RASA:U_DICTATED")
    assert len(sessions) == 1, replies
    (session,) = sessions
    assert session["participant"] == "JD"
    assert session["phone"] == "+16175550101"
    assert session["start"] == tomorrow_at(16, 15)
    assert converse_embedded(embedded, "T_RASA:U_DICTATED", lines) == replies


def test_two_clinicians_at_once_each_reach_only_their_own_session(stack) -> None:
    scripts = {
        "T_RASA:U_FIRST": ["Robin Smith tomorrow 2pm no invitation", "same", "none", "save"],
        "T_RASA:U_SECOND": ["Sam Park tomorrow 5pm no invitation", "same", "none"],
    }
    replies: dict[str, list[list[str]]] = {}

    def talk(sender: str) -> None:
        replies[sender] = converse(stack, sender, scripts[sender])

    threads = [threading.Thread(target=talk, args=(sender,)) for sender in scripts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert set(replies) == set(scripts)

    (first,) = stored(stack, "T_RASA:U_FIRST")
    assert stored(stack, "T_RASA:U_SECOND") == []
    # The second clinician's "save" saves their own draft; a second "save" says so
    # without a word of anyone else's session.
    second_save = stack.say("T_RASA:U_SECOND", "save")
    again = stack.say("T_RASA:U_SECOND", "save")
    (second,) = stored(stack, "T_RASA:U_SECOND")
    assert second["participant"] == "Sam Park" and first["participant"] == "Robin Smith"
    assert second["id"] != first["id"]
    said = json.dumps(second_save + again)
    assert first["id"] not in said and "Robin" not in said
    assert first["enter_meeting_url"] not in said and first["participant_url"] not in said
    assert texts(again) == ["That session is already saved. Say “schedule” to start another."]


def test_responses_name_only_slots_or_values_their_action_sends() -> None:
    """A Rasa server fills a response from slots (and what the action passes along); any
    other name would reach the clinician as a raw "{name}"."""
    from dialogue.domain import load_domain

    domain = load_domain()
    # Values an action passes with the response, or the embedded runner's own responses
    # (a Rasa server never says those).
    sent_with = {
        "utter_confirm": {"summary"},
        "utter_empty": {"hint"},
        "utter_too_long": {"length", "limit"},
        "utter_own_zone_thanks": {"zone_label"},
    }
    for name, variants in domain["responses"].items():
        for variant in variants:
            names = set(PLACEHOLDER.findall(str(variant.get("text", ""))))
            names = {n.strip("{}") for n in names}
            assert names <= set(domain["slots"]) | sent_with.get(name, set()), name


def test_no_answer_leaves_rasa_silent_and_back_undoes_as_the_runner_does(stack, embedded) -> None:
    lines = [
        "back",  # nothing to undo yet: said, and no form is opened
        "schedule",
        "yes",  # to the date question: asked again (a rejected form would go silent)
        "tomorrow",
        "3pm",
        "JD",
        "no invitation",
        "same",
        "none",
        "back",  # from the summary: the last question again
        "intake",
        "save",
    ]
    replies = converse(stack, "T_RASA:U_BACK", lines)

    assert replies[0] == ["There's nothing to go back to."]
    assert replies[2] == ["What date is the session? (e.g. “tomorrow”, “next Tuesday”, “Dec 3”)"]
    assert replies[9] == [
        "Going back.",
        "Which package of documents should the participant complete?",
    ]
    (session,) = stored(stack, "T_RASA:U_BACK")
    assert session["documents"] == "intake"
    assert converse_embedded(embedded, "T_RASA:U_BACK", lines) == replies


def test_answers_it_cannot_use_get_the_same_one_message_as_in_the_runner(stack, embedded) -> None:
    lines = [
        "schedule",
        "blah blah",
        "tomorrow",
        "25pm",
        "3pm",
        "JD",
        "by pigeon",
        "email",
        "not@valid",
        "jd@example.com",
        "Mars",
        "Chicago",
        "intake",
        "save",
    ]
    messages = []
    for line in lines:
        messages.append(stack.say("T_RASA:U_ERRORS", line))
    replies = [texts(m) for m in messages]

    for i in (1, 3, 6, 8, 10):  # one message: the error, not the question again
        assert len(replies[i]) == 1, replies[i]
    # The invitation's choices come again with the error, as buttons.
    assert [b["title"] for m in messages[6] for b in m.get("buttons") or []] == [
        "E-mail invitation",
        "Text message invitation",
        "No invitation",
    ]
    (session,) = stored(stack, "T_RASA:U_ERRORS")
    assert (session["email"], session["participant_tz"]) == ("jd@example.com", "America/Chicago")
    assert converse_embedded(embedded, "T_RASA:U_ERRORS", lines) == replies
    assert embedded_stored(embedded, "T_RASA:U_ERRORS") == [comparable(session)]


def test_the_third_miss_in_a_row_says_what_can_be_read(stack, embedded) -> None:
    # "hmm" would not count: a filler is asked again, not refused.
    lines = ["schedule", "blah", "the 45th", "yesterday", "help", "tomorrow", "25pm", "99pm", "3pm"]
    replies = converse(stack, "T_RASA:U_MISSES", lines)

    assert replies[3][1:] == [
        "That's a few tries. Here is what I can read:",
        "Dates I understand: “today”, “tomorrow”, “Friday”, “next Tuesday”, “Dec 3”, “12/3”, "
        "“the 15th”, “2026-12-03”. The date must be today or later. Say “cancel” to stop.",
    ]
    assert len(replies[7]) == 1  # two misses at the time: no hint yet
    assert converse_embedded(embedded, "T_RASA:U_MISSES", lines) == replies


def test_change_without_saying_what_asks_which_and_the_buttons_change_one(stack, embedded) -> None:
    lines = [
        "change",  # no draft yet: one starts
        "cancel",
        "JD tomorrow 3pm no invitation, no documents",
        "same",
        "change",
        "/change",
        '/change{"slot":"time"}',
        "4pm",
        "save",
    ]
    replies = converse(stack, "T_RASA:U_CHANGE", lines)

    assert replies[0][1].startswith("What date is the session?")
    which = "What would you like to change? You can also just say it, like “make it 4pm instead”."
    assert replies[4] == replies[5] == [which]
    assert replies[6][0].startswith("What time on ")
    (session,) = stored(stack, "T_RASA:U_CHANGE")
    assert session["start"] == tomorrow_at(16)
    assert converse_embedded(embedded, "T_RASA:U_CHANGE", lines) == replies
    assert embedded_stored(embedded, "T_RASA:U_CHANGE") == [comparable(session)]


def test_the_week_goes_as_in_the_embedded_runner(stack, embedded) -> None:
    lines = [
        "JD tomorrow 3pm no invitation, no documents",
        "same",
        "save",
        "same time next week",
        "send me my agenda at 7:30",
        "Ann Lee every Tuesday at 10am for 3 weeks, no invitation, no documents",
        "same time next week",
        "same",
        "save",
    ]
    replies = converse(stack, "T_RASA:U_WEEK", lines)

    assert replies[3][0].startswith("Booked the session with JD on ")
    assert "(the same time, 1 week later)" in replies[3][0]
    assert replies[4][0].startswith("I'll send your agenda every morning at 7:30 AM")
    assert replies[6][0].startswith("Let's finish this session first")
    assert "3 sessions, every Tuesday" in replies[7][-1]
    assert replies[8][0].startswith("Saved 3 sessions with A.L.")
    sessions = stored(stack, "T_RASA:U_WEEK")
    assert len(sessions) == 5
    jd = sorted(datetime.fromisoformat(x["start"]) for x in sessions if x["participant"] == "JD")
    first, then = (x.astimezone(EASTERN) for x in jd)
    assert first == datetime.fromisoformat(tomorrow_at(15))
    assert (then.date() - first.date()).days == 7 and (then.hour, then.minute) == (15, 0)
    series = [x for x in sessions if x.get("series_id")]
    assert len(series) == 3 and len({x["series_id"] for x in series}) == 1
    assert converse_embedded(embedded, "T_RASA:U_WEEK", lines) == replies


def test_a_port_where_another_rasa_answers_is_never_taken_for_ours(tmp_path: Path) -> None:
    """Rasa's CLI takes no socket, so its port is picked free and may be taken before Rasa
    binds it. A server there that does not know this launch's token (another test
    process's Rasa answers 401) is never mistaken for ours: the launch moves on, and says
    so when every port it tried was taken."""
    try:
        model = rasa_kit.ensure_model()
    except rasa_kit.Unavailable as exc:
        missing(exc)

    class OtherRasa(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = b'{"status": "failure", "reason": "NotAuthenticated"}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    others = [ThreadingHTTPServer(("127.0.0.1", 0), OtherRasa) for _ in range(2)]
    for other in others:
        threading.Thread(target=other.serve_forever, daemon=True).start()
    held = itertools.cycle([other.server_address[1] for other in others])
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text('action_endpoint:\n  url: "http://127.0.0.1:9/webhook"\n')
    try:
        with pytest.raises(RuntimeError) as failed:
            rasa_kit.start_rasa(model, endpoints, tmp_path, ports=held.__next__)
    finally:
        for other in others:
            other.shutdown()
            other.server_close()
    message = str(failed.value)
    assert f"rasa run found no port of its own in {rasa_kit.RASA_ATTEMPTS} tries" in message
    for other in others:
        assert f"port {other.server_address[1]}: another server answers there (401)" in message


def test_working_hours_said_and_a_start_outside_them_asked_as_in_the_embedded_runner(
    stack, embedded
) -> None:
    sender = "T_RASA:U_HOURS"

    def run(say) -> list[list[dict]]:
        said = [say("my hours are Mon-Fri 9-5")]
        said.append(say("JD tomorrow 3am no invitation, no documents"))
        yes = next(
            b["payload"]
            for m in said[-1]
            for b in m.get("buttons") or []
            if b["title"].startswith("Yes")
        )
        for line in (yes, "same", "save", "JD tomorrow 4am no invitation, no documents", "yes"):
            said.append(say(line))
        return said

    def embedded_say(line: str) -> list[dict]:
        team, user = sender.split(":")
        return [m.to_dict() for m in embedded.runner.handle(Who(team, user), line).messages]

    for replies in (run(lambda line: stack.say(sender, line)), run(embedded_say)):
        words = [" ".join(texts(r)) for r in replies]
        assert words[0].startswith(
            "Your working hours are now Monday to Friday, 9:00 AM to 5:00 PM"
        )
        assert "3:00 AM is outside your working hours. Book it anyway?" in words[1]
        assert "Booking it outside your working hours, as you said." in words[2]
        assert "*New scheduled session*" in words[3]
        assert words[4].startswith("Saved: session with JD")
        assert "4:00 AM is outside your working hours" in words[5]
        assert "Booking it outside your working hours, as you said." in words[6]  # typed
    (session,) = stored(stack, sender)
    assert session["start"] == tomorrow_at(3)
    assert embedded_stored(embedded, sender) == [comparable(session)]


def test_a_couples_session_with_each_ones_invitation_as_in_the_embedded_runner(
    stack, embedded
) -> None:
    lines = [
        "with JD and MK tomorrow 3pm by text +1 617 555 0101, no documents",
        "Pacific",
        "mk@example.com in London",
        "also invite the mother, AL",
        "no invitation",
        "remove MK",
        "save",
    ]
    replies = converse(stack, "T_RASA:U_COUPLE", lines)
    assert any("How should MK get their invitation?" in m for m in replies[1]), replies
    assert "Added AL to the session." in replies[3] and "Removed MK." in replies[5]
    (session,) = stored(stack, "T_RASA:U_COUPLE")
    assert [(p["participant"], p["invite_channel"], p["participant_tz"])
            for p in session["participants"]] == [
        ("JD", "sms", "America/Los_Angeles"), ("AL", "none", "America/Los_Angeles")
    ]  # fmt: skip
    assert converse_embedded(embedded, "T_RASA:U_COUPLE", lines) == replies
