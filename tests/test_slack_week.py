"""The dashboard's week buttons over signed requests: Schedule Next, Remind now, Cancel
this and following, and the overlap said before a move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import at
from fake_slack import FakeSlack, Person
from test_slack_home import (
    click_on_home,
    home_button,
    inputs,
    new_time,
    schedule_jd,
    sessions_of,
    submitted,
)

from ground.session import SessionSpec
from scheduling import series_plans
from sessionbot.wiring import Parts
from store import clinician_rows, outbox_rows
from store.models import Contact


def latest_home(fake: FakeSlack, containing: str = "") -> dict:
    found = fake.wait(
        lambda: [c for c in fake.of("views.publish") if containing in str(c.args["view"])]
    )
    return found[-1].args["view"]


def buttons(view: dict, action_id: str) -> list[dict]:
    return [
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == action_id
    ]


def test_schedule_next_from_app_home_books_the_same_time_next_week(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    home = latest_home(fake_slack)
    click_on_home(clinician, home_button(home, "dash:schedule_next"))
    (told,) = clinician.replies()
    assert told.text == (
        "Booked the session with JD on Wed, Dec 2, 2026, 3:00 PM EST "
        "(the same time, 1 week later). The invitation goes out by text message."
    )
    first, second = sessions_of(slack_parts, "U_CLIN1")
    assert (second.phone, second.participant_tz, second.documents) == (
        first.phone,
        first.participant_tz,
        first.documents,
    )
    assert "Wed, Dec 2, 2026, 3:00 PM EST" in str(latest_home(fake_slack, "Dec 2"))


def test_remind_now_sends_one_and_refuses_a_second_click_within_ten_minutes(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts, clock
) -> None:
    schedule_jd(clinician)
    home = latest_home(fake_slack)
    click_on_home(clinician, home_button(home, "dash:remind"))
    (told,) = clinician.replies()
    assert told.text == (
        "A reminder of the session on Wed, Nov 25, 2026, 3:00 PM EST is on its way to JD "
        "by text message."
    )
    assert "reminded Tue, Nov 24, 2026, 10:00 AM EST" in str(latest_home(fake_slack, "reminded"))
    click_on_home(clinician, home_button(home, "dash:remind"))
    (again,) = clinician.replies()  # a double click: the same answer, nothing more sent
    assert again.text.startswith("Remind now was already done: A reminder of the session")
    clock.shift(timedelta(minutes=2))
    click_on_home(clinician, home_button(home, "dash:remind"))
    (refused,) = clinician.replies()
    assert refused.text.startswith("A reminder went to JD at 10:00 AM EST; I send at most one")
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    with slack_parts.store.unit() as s:
        asked = [
            m for m in outbox_rows.outbox_for_session(s, session.id) if ":now:" in m.dedupe_key
        ]
    assert [m.channel for m in asked] == ["sms"]


def test_a_session_without_an_invitation_has_no_remind_button(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    clinician.say("JD tomorrow 3pm, no invitation, no documents")
    clinician.say("same")
    assert clinician.say("save").text.startswith("Saved")
    home = latest_home(fake_slack)
    assert buttons(home, "dash:remind") == [] and buttons(home, "dash:schedule_next")


def test_cancel_this_and_following_from_app_home(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    now = datetime.now(UTC)
    with slack_parts.store.unit() as s:
        me = clinician_rows.get_clinician(s, "T1", "U_CLIN1", tz="America/New_York")
        draft = SessionSpec.for_one(
            "series-draft", at("2026-12-01 10:00"), 50, "Jane Doe", "none",
            None, None, "America/New_York", None, None, None,
        )  # fmt: skip
        starts = [at(f"2026-12-{d:02d} 10:00") for d in (1, 8, 15)]
        series_plans.book_series(s, me, draft, starts, slack_parts.practice, now)
    clinician.event({"type": "app_home_opened", "user": clinician.user, "tab": "home"})
    home = latest_home(fake_slack, "Dec 15")
    series = buttons(home, "dash:cancel_series")
    assert len(series) == 3 and "part of a series" in str(home)
    click_on_home(clinician, series[1])
    (told,) = clinician.replies()
    assert told.text == (
        "Cancelled 2 sessions with J.D., from Tue, Dec 8, 2026, 10:00 AM EST to "
        "Tue, Dec 15, 2026, 10:00 AM EST."
    )
    assert [x.status for x in sessions_of(slack_parts, "U_CLIN1")] == [
        "scheduled",
        "cancelled",
        "cancelled",
    ]


def test_a_move_onto_another_session_is_said_in_the_form_first_then_done_if_meant(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)  # Wed Nov 25, 3 PM
    with slack_parts.store.unit() as s:
        me = clinician_rows.get_clinician(s, "T1", "U_CLIN1")
        from conftest import make_session

        make_session(s, me.id, participant="Sam Roe", start_at=at("2026-11-27 16:00"))
    home = latest_home(fake_slack)
    jd = next(b for b in buttons(home, "dash:reschedule"))
    click_on_home(clinician, jd)
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    warned = submitted(clinician, form, new_time("2026-11-27", "16:30"))
    assert (
        "It overlaps your session with S.R. on Fri, Nov 27, 2026, 4:00 PM EST. "
        "Press Reschedule again to move it anyway."
    ) in str(warned)
    assert inputs(warned) == inputs(form)  # the form again, what was picked kept
    fake_slack.quiet()
    jd_session = sessions_of(slack_parts, "U_CLIN1")[0]
    assert jd_session.start_at == at("2026-11-25 15:00")  # nothing moved yet
    assert not [m for m in clinician.messages() if m.text.startswith("Moved")]
    done = submitted(clinician, warned, new_time("2026-11-27", "16:30"))
    assert "Moved the session with JD to Fri, Nov 27, 2026, 4:30 PM EST." in str(done)
    (told,) = [m for m in clinician.replies() if m.text.startswith("Moved")]
    assert told.text == "Moved the session with JD to Fri, Nov 27, 2026, 4:30 PM EST."
    (moved,) = [x for x in sessions_of(slack_parts, "U_CLIN1") if x.participant == "JD"]
    assert moved.start_at == at("2026-11-27 16:30")


def edit_values(form: dict, **changes: str) -> dict:
    """The form's prefilled fields as Slack submits them, with `changes` typed over."""
    values: dict = {}
    for block in form["blocks"]:
        if block["type"] != "input":
            continue
        name, element = block["block_id"], block["element"]
        if element["type"] == "datepicker":
            state = {"type": "datepicker", "selected_date": element.get("initial_date")}
        elif element["type"] == "static_select":
            picked = element.get("initial_option")
            state = {"type": "static_select", "selected_option": picked}
        else:
            state = {"type": "plain_text_input", "value": element.get("initial_value")}
        if name in changes:
            if element["type"] == "static_select":
                state["selected_option"] = {
                    "value": changes[name],
                    "text": {"type": "plain_text", "text": changes[name]},
                }
            elif element["type"] == "datepicker":
                state["selected_date"] = changes[name]
            else:
                state["value"] = changes[name]
        values[name] = {name: state}
    return values


def test_edit_opens_every_field_prefilled_and_checks_them_like_the_conversation(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    home = latest_home(fake_slack)
    click_on_home(clinician, home_button(home, "dash:edit"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    assert form["callback_id"] == "edit"
    initial = {
        b["block_id"]: b["element"].get("initial_value")
        or b["element"].get("initial_date")
        or (b["element"].get("initial_option") or {}).get("value")
        for b in form["blocks"]
        if b["type"] == "input"
    }
    assert initial == {
        "date": "2026-11-25",
        "time": "15:00",
        "participant": "JD",
        "invite_channel": "sms",
        "email": None,
        "phone": "+16175550101",
        "participant_tz": "America/Los_Angeles",
        "documents": "intake",
        "length": "50",
        "language": "default",
    }  # no service or amount: payments are not set up (as in the conversation)
    bad = clinician.submit(
        form,
        edit_values(
            form,
            invite_channel="email",
            email="jd@",
            participant_tz="Narnia",  # ("Atlantis" is a town in South Africa)
            date="2026-11-23",
        ),
    )
    errors = bad.json()["errors"]
    assert errors["date"] == "That date has passed: pick today or a later date."
    assert set(errors) == {"date", "email", "participant_tz"}
    assert "Narnia" in errors["participant_tz"]  # ("Atlantis" is a town in South Africa)
    fake_slack.quiet()
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert (session.invite_channel, session.sequence) == ("sms", 0)  # nothing half-written
    good = submitted(
        clinician,
        form,
        edit_values(form, time="16:30", participant_tz="London", documents="none"),
    )
    assert "Updated the session with JD: time Wed, Nov 25, 2026, 3:00 PM EST" in str(good)
    (told,) = [m for m in clinician.replies() if m.text.startswith("Updated")]
    assert told.text == (
        "Updated the session with JD: time Wed, Nov 25, 2026, 3:00 PM EST → "
        "Wed, Nov 25, 2026, 4:30 PM EST; their zone America/Los_Angeles → Europe/London; "
        "documents intake → none. The participant will get the invitation."
    )
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.start_at == at("2026-11-25 16:30")
    assert (session.participant_tz, session.documents, session.sequence) == (
        "Europe/London",
        None,
        1,
    )


def test_edit_changes_the_length_in_words_and_refuses_one_out_of_bounds(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    """The session's length is a field of Edit: a wrong one is refused by its field,
    nothing written; a good one is said (old → new) and stored, and the participant, whose
    calendar event now ends elsewhere, is told."""
    schedule_jd(clinician)
    click_on_home(clinician, home_button(latest_home(fake_slack), "dash:edit"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    (block,) = [b for b in form["blocks"] if b.get("block_id") == "length"]
    assert block["element"]["type"] == "number_input"
    for typed, problem in (
        ("500", "A session can last 10 minutes to 4 hours, not 500 minutes"),
        ("1.5", "Give the length in whole minutes, like 50."),
    ):
        bad = clinician.submit(form, edit_values(form, length=typed))
        assert bad.json()["errors"]["length"].startswith(problem)
    fake_slack.quiet()
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert (session.duration_min, session.sequence) == (50, 0)
    good = submitted(clinician, form, edit_values(form, length="80"))
    assert "Updated the session with JD: length 50 → 80 min." in str(good)
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert (session.duration_min, session.sequence) == (80, 1)
    (told,) = [m for m in clinician.replies() if m.text.startswith("Updated")]
    assert told.text.endswith("min. The participant will get the invitation.")  # not sent yet


def test_edit_sets_the_participants_language_said_in_words_and_remembered(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    click_on_home(clinician, home_button(latest_home(fake_slack), "dash:edit"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    (block,) = [b for b in form["blocks"] if b.get("block_id") == "language"]
    options = [(o["value"], o["text"]["text"]) for o in block["element"]["options"]]
    assert options == [
        ("default", "The practice's default (English)"),
        ("en", "English"),
        ("es", "Spanish"),
    ]
    good = submitted(clinician, form, edit_values(form, language="es"))
    assert "their language the practice's default → Spanish" in str(good)
    (told,) = [m for m in clinician.replies() if m.text.startswith("Updated")]
    assert told.text.startswith(
        "Updated the session with JD: their language the practice's default → Spanish. "
        "The participant will get"
    )
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert (session.language, session.sequence) == ("es", 1)
    with slack_parts.store.unit() as s:
        (contact,) = s.query(Contact).all()
        assert contact.language == "es"


def test_the_morning_agenda_is_picked_on_app_home_and_kept(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    clinician.event({"type": "app_home_opened", "user": clinician.user, "tab": "home"})
    home = latest_home(fake_slack)
    (select,) = buttons(home, "dash:agenda")
    assert select["initial_option"]["value"] == "off"
    seven_thirty = next(o for o in select["options"] if o["value"] == "07:30")
    click_on_home(
        clinician,
        {"type": "static_select", "action_id": "dash:agenda", "selected_option": seven_thirty},
    )
    (told,) = clinician.replies()
    assert told.text.startswith("I'll send your agenda every morning at 7:30 AM (America/New_York)")
    with slack_parts.store.unit() as s:
        assert clinician_rows.get_clinician(s, "T1", "U_CLIN1").agenda_at == "07:30"
    shown = fake_slack.wait(
        lambda: [
            c
            for c in fake_slack.of("views.publish")
            if buttons(c.args["view"], "dash:agenda")[0].get("initial_option", {}).get("value")
            == "07:30"
        ]
    )
    assert shown


def test_another_clinician_can_neither_remind_nor_edit_nor_repeat_a_session(
    running, clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    home = latest_home(fake_slack)
    intruder = Person(running, fake_slack, "U_OTHER")
    for action_id in ("dash:remind", "dash:schedule_next", "dash:cancel_series"):
        button = (
            home_button(home, action_id)
            if action_id != "dash:cancel_series"
            else {
                **home_button(home, "dash:remind"),
                "action_id": "dash:cancel_series",
            }
        )
        click_on_home(intruder, button)
        (told,) = intruder.replies()
        assert told.text == "I couldn't find that session among yours."
    click_on_home(clinician, home_button(home, "dash:edit"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    refused = submitted(intruder, form, edit_values(form, time="16:30"))
    assert "I couldn't find that session among yours." in str(refused)
    fake_slack.quiet()
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert (session.sequence, session.reminded_at) == (0, None)
