"""What the clinician types, and the slot values the assistant reads out of it."""

import datetime
import zoneinfo
from collections.abc import Mapping
from decimal import Decimal
from typing import TypedDict, Unpack

import pytest

from actions.extraction import (
    Extracted,
    ExtractionError,
    extract,
    parse_amount,
    parse_channel,
    parse_date,
    parse_email,
    parse_participant,
    parse_phone,
    parse_time,
    parse_zone,
    zone_choices,
)
from ground.formatting import zone_label

PACKAGES = {"intake": "Intake packet", "consent": "Consent forms"}
SERVICES = {"initial": "Initial consultation", "followup": "Follow-up session"}


def at(wall_time: str, zone: str = "America/New_York") -> datetime.datetime:
    """The clinician's now: a wall time in their zone."""
    naive = datetime.datetime.fromisoformat(wall_time)
    return naive.replace(tzinfo=zoneinfo.ZoneInfo(zone))


NOW = at("2026-11-24 10:00")  # a Tuesday


class Options(TypedDict, total=False):
    """The keyword arguments of `extract` a test may set."""

    default_region: str
    packages: Mapping[str, str]
    services: Mapping[str, str]
    requested_slot: str | None
    working_hours: tuple[int, int]
    participant_region: str | None
    participant_zone: str | None


def read(text: str, now: datetime.datetime = NOW, **options: Unpack[Options]) -> Extracted:
    options = {"packages": PACKAGES, "services": SERVICES, **options}
    return extract(text, now=now, **options)


def day(iso: str) -> datetime.date:
    return datetime.date.fromisoformat(iso)


# --- one message, many slots -------------------------------------------------------------


def test_one_message_fills_many_slots() -> None:
    found = read("JD tomorrow 3pm by text +1 617 555 0101, intake packet")

    assert found.slots() == {
        "participant": "JD",
        "date": day("2026-11-25"),
        "time": datetime.time(15, 0),
        "invite_channel": "sms",
        "phone": "+16175550101",
        "documents": "intake",
    }
    assert found.problems == {}
    assert found.intent is None


def test_an_email_address_alone_does_not_choose_the_invitation_channel() -> None:
    found = read("Jane Doe jane@example.com next Tuesday 9:30 am Eastern")

    assert found.slots() == {
        "participant": "Jane Doe",
        "email": "jane@example.com",
        "date": day("2026-12-01"),
        "time": datetime.time(9, 30),
        "participant_tz": "America/New_York",
    }


def test_slots_lists_only_what_was_found() -> None:
    assert read("make it 4pm instead").slots() == {"time": datetime.time(16, 0)}


# --- corrections -------------------------------------------------------------------------


def test_make_it_4pm_instead_changes_only_the_time() -> None:
    found = read("make it 4pm instead")

    assert found.time == datetime.time(16, 0)
    assert found.participant is None and found.date is None


def test_actually_the_5th_changes_only_the_date() -> None:
    assert read("actually the 5th").slots() == {"date": day("2026-12-05")}


def test_the_time_said_to_replace_another_wins() -> None:
    assert read("4pm instead of 3pm").time == datetime.time(16, 0)
    assert read("instead of 3pm, 4pm").time == datetime.time(16, 0)


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        ("change the time", "time"),
        ("change participant", "participant"),
        ("different date", "date"),
        ("edit phone", "phone"),
        ("change the time zone", "participant_tz"),
        ("new zone please", "participant_tz"),
        ("change the channel", "invite_channel"),
        ("edit the invitation", "invite_channel"),
        ("wrong name", "participant"),
        ("change the client", "participant"),
        ("change the price", "amount"),
        ("edit the fee", "amount"),
        ("change the forms", "documents"),
        ("different package", "documents"),
        ("change payment", "payment"),
        ("change the service", "service"),
        ("update the email", "email"),
    ],
)
def test_change_requests_name_the_slot(text: str, slot: str) -> None:
    found = read(text)

    assert found.change == slot
    assert found.slots() == {}


def test_change_request_can_carry_the_new_value() -> None:
    found = read("change participant to Jane")

    assert found.change == "participant"
    assert found.participant == "Jane"


# --- intents -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("cancel", "cancel"),
        ("start over", "restart"),
        ("restart", "restart"),
        ("reset", "restart"),
        ("back", "back"),
        ("go back", "back"),
        ("undo", "back"),
        ("help", "help"),
        ("?", "help"),
        ("what can I say", "help"),
        ("save", "save"),
        ("confirm", "save"),
        ("book it", "save"),
        ("looks good", "save"),
        ("yes", "affirm"),
        ("no", "deny"),
    ],
)
def test_intent_words_are_intents_not_names(text: str, intent: str) -> None:
    found = read(text, requested_slot="participant")

    assert found.intent == intent
    assert found.participant is None
    assert found.problems == {}


def test_cancel_inside_a_sentence_is_still_cancel() -> None:
    assert read("cancel the 3pm").intent == "cancel"


def test_yes_and_no_answer_the_payment_question() -> None:
    assert read("yes", requested_slot="payment").intent == "affirm"
    assert read("no", requested_slot="payment").intent == "deny"


def test_a_question_mark_after_a_time_is_not_a_cry_for_help() -> None:
    found = read("3pm?", requested_slot="time")

    assert found.time == datetime.time(15, 0)
    assert found.intent is None


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", "2026-11-24"),
        ("tomorrow", "2026-11-25"),
        ("day after tomorrow", "2026-11-26"),
        ("next Tuesday", "2026-12-01"),
        ("Tuesday", "2026-12-01"),
        ("this Tuesday", "2026-11-24"),
        ("Friday", "2026-11-27"),
        ("Dec 3", "2026-12-03"),
        ("December 3rd", "2026-12-03"),
        ("3rd of December", "2026-12-03"),
        ("12/3", "2026-12-03"),
        ("12/3/2026", "2026-12-03"),
        ("12/3/27", "2027-12-03"),
        ("2026-12-03", "2026-12-03"),
        ("in 3 days", "2026-11-27"),
        ("in two weeks", "2026-12-08"),
        ("a week from Friday", "2026-12-04"),
        ("in 2 months", "2027-01-24"),
    ],
)
def test_dates_clinicians_type(text: str, expected: str) -> None:
    assert parse_date(text, NOW) == day(expected)
    assert read(text).date == day(expected)


def test_the_15th_means_the_next_15th() -> None:
    assert parse_date("the 15th", NOW) == day("2026-12-15")
    assert parse_date("15th", NOW) == day("2026-12-15")
    assert parse_date("the 30th", NOW) == day("2026-11-30")


def test_the_31st_skips_months_without_one() -> None:
    assert parse_date("the 31st", NOW) == day("2026-12-31")


def test_a_bare_number_is_a_day_of_the_month_when_the_date_was_asked() -> None:
    assert read("15", requested_slot="date").date == day("2026-12-15")
    assert read("15").date is None


def test_a_date_that_does_not_exist_is_a_problem_not_a_guess() -> None:
    found = read("Feb 30 at 3pm")

    assert found.date is None
    assert found.problems == {"date": "February has no 30th day."}
    assert found.time == datetime.time(15, 0)


def test_impossible_numeric_date_is_refused() -> None:
    with pytest.raises(ExtractionError, match="month/day"):
        parse_date("13/45", NOW)
    assert "date" in read("13/45").problems


def test_no_month_has_a_32nd_day() -> None:
    with pytest.raises(ExtractionError, match="No month has a 32nd day"):
        parse_date("the 32nd", NOW)


def test_february_29th_waits_for_a_leap_year() -> None:
    assert parse_date("Feb 29", NOW) == day("2028-02-29")
    with pytest.raises(ExtractionError, match="February 2027 has no 29th day"):
        parse_date("Feb 29, 2027", NOW)


def test_past_dates_are_left_for_the_caller_to_refuse() -> None:
    assert parse_date("yesterday", NOW) == day("2026-11-23")
    assert parse_date("2026-01-01", NOW) == day("2026-01-01")


def test_a_month_day_already_past_means_next_year() -> None:
    assert parse_date("Dec 3", at("2026-12-10 09:00")) == day("2027-12-03")


def test_jan_5_said_in_december_is_next_year() -> None:
    assert parse_date("Jan 5", at("2026-12-20 09:00")) == day("2027-01-05")


def test_today_stays_today() -> None:
    assert parse_date("today", at("2026-12-31 23:00")) == day("2026-12-31")


def test_tomorrow_just_before_midnight_is_the_next_calendar_day() -> None:
    late = at("2026-11-24 23:50")

    assert read("tomorrow 9am", late).date == day("2026-11-25")


def test_tomorrow_is_read_in_the_clinicians_zone_not_utc() -> None:
    late_in_los_angeles = at("2026-11-24 22:30", "America/Los_Angeles")  # already 25th in UTC

    assert parse_date("tomorrow", late_in_los_angeles) == day("2026-11-25")


def test_tomorrow_3pm_across_the_end_of_daylight_saving() -> None:
    found = read("tomorrow 3pm", at("2026-11-01 01:30"))

    assert (found.date, found.time) == (day("2026-11-02"), datetime.time(15, 0))


def test_day_first_outside_the_us() -> None:
    before_december = at("2026-11-24 10:00", "Europe/London")

    assert read("3/12", before_december, default_region="GB").date == day("2026-12-03")
    assert read("3/12", before_december).date == day("2027-03-12")


def test_a_free_form_date_answer_is_left_to_dateparser() -> None:
    assert read("Christmas Eve", requested_slot="date").problems.keys() == {"date"}
    assert parse_date("Dec the 3rd", NOW) == day("2026-12-03")


def test_an_unreadable_date_answer_says_what_to_type() -> None:
    with pytest.raises(ExtractionError, match="tomorrow, Tuesday, Dec 3"):
        parse_date("whenever", NOW)


# --- times -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3pm", "15:00"),
        ("3 pm", "15:00"),
        ("3 p.m.", "15:00"),
        ("3:15pm", "15:15"),
        ("9:30 am", "09:30"),
        ("12pm", "12:00"),
        ("12am", "00:00"),
        ("15:30", "15:30"),
        ("noon", "12:00"),
        ("midnight", "00:00"),
        ("at 3", "15:00"),
        ("at 9", "09:00"),
        ("at 12", "12:00"),
        ("3 o'clock", "15:00"),
        ("at 8 in the evening", "20:00"),
        ("at 7 in the morning", "07:00"),
    ],
)
def test_times_clinicians_type(text: str, expected: str) -> None:
    assert parse_time(text) == datetime.time.fromisoformat(expected)
    assert read(text).time == datetime.time.fromisoformat(expected)


@pytest.mark.parametrize(("text", "hour"), [("3", 15), ("7", 19), ("8", 8), ("11", 11), ("12", 12)])
def test_a_bare_hour_is_a_working_hour(text: str, hour: int) -> None:
    assert read(text, requested_slot="time").time == datetime.time(hour, 0)
    assert parse_time(text) == datetime.time(hour, 0)


def test_tomorrow_at_3pm_fills_date_and_time() -> None:
    found = read("tomorrow at 3pm")

    assert found.slots() == {"date": day("2026-11-25"), "time": datetime.time(15, 0)}


def test_tonight_is_today_in_the_evening() -> None:
    assert read("at 8 tonight").slots() == {"date": NOW.date(), "time": datetime.time(20, 0)}


@pytest.mark.parametrize("text", ["25:00", "13pm", "10:75"])
def test_times_that_do_not_exist_are_problems(text: str) -> None:
    assert read(text).problems.keys() == {"time"}
    with pytest.raises(ExtractionError, match="isn't a time of day"):
        parse_time(text)


def test_an_unreadable_time_answer_is_a_problem_for_the_time() -> None:
    found = read("teatime", requested_slot="time")

    assert found.problems.keys() == {"time"}
    assert found.participant is None


# --- phone numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+1 617 555 0101", "+16175550101"),
        ("(617) 555-0101", "+16175550101"),
        ("617.555.0101", "+16175550101"),
        ("617-555-0101", "+16175550101"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_become_e164(text: str, expected: str) -> None:
    assert parse_phone(text) == expected
    assert read(f"call {text} please").phone == expected


def test_phone_number_is_not_read_as_a_date() -> None:
    for text in ("617-555-0101", "+1 617 555 0101", "617.555.0101"):
        found = read(text)
        assert found.slots() == {"phone": "+16175550101"}, text


def test_a_local_number_is_read_in_the_practice_region() -> None:
    assert parse_phone("020 7946 0958", default_region="GB") == "+442079460958"


@pytest.mark.parametrize("text", ["555-01", "+1 555"])
def test_a_short_phone_number_is_a_problem(text: str) -> None:
    assert read(text).problems == {
        "phone": "That phone number looks too short; try +1 617 555 0101."
    }
    with pytest.raises(ExtractionError, match="too short"):
        parse_phone(text)


def test_a_phone_number_next_to_an_amount_is_still_found() -> None:
    found = read("+1 617 555 0101 15 dollars")

    assert (found.phone, found.amount) == ("+16175550101", Decimal("15.00"))


# --- e-mail ------------------------------------------------------------------------------


def test_email_is_normalized() -> None:
    assert parse_email("Jane@Example.COM") == "Jane@example.com"
    assert read("send it to jane@example.com.").email == "jane@example.com"


def test_slack_mailto_links_are_unwrapped() -> None:
    assert read("<mailto:jane@example.com|jane@example.com>").email == "jane@example.com"


@pytest.mark.parametrize("text", ["bob@", "bob@example"])
def test_an_email_without_a_domain_is_a_problem(text: str) -> None:
    assert read(text).problems["email"].startswith("That e-mail address has no domain")
    with pytest.raises(ExtractionError, match="no domain"):
        parse_email(text)


# --- invitation channel ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "channel"),
    [
        ("by text", "sms"),
        ("send a text message", "sms"),
        ("sms", "sms"),
        ("by email", "email"),
        ("e-mail", "email"),
        ("no invitation", "none"),
        ("don't invite them", "none"),
        ("no invite", "none"),
    ],
)
def test_channel_words(text: str, channel: str) -> None:
    assert read(f"JD {text}").invite_channel == channel
    assert parse_channel(text) == channel


def test_bare_channel_answers_when_asked() -> None:
    assert read("text", requested_slot="invite_channel").invite_channel == "sms"
    assert read("none", requested_slot="invite_channel").invite_channel == "none"
    assert read("text").invite_channel is None


def test_an_unknown_channel_is_refused() -> None:
    with pytest.raises(ExtractionError, match="email, text or none"):
        parse_channel("carrier pigeon")


# --- time zones --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Eastern", "America/New_York"),
        ("ET", "America/New_York"),
        ("est", "America/New_York"),
        ("EDT", "America/New_York"),
        ("Pacific", "America/Los_Angeles"),
        ("PST", "America/Los_Angeles"),
        ("PT", "America/Los_Angeles"),
        ("Central", "America/Chicago"),
        ("CST", "America/Chicago"),
        ("Mountain", "America/Denver"),
        ("MST", "America/Denver"),
        ("Arizona", "America/Phoenix"),
        ("Alaska", "America/Anchorage"),
        ("Hawaii", "Pacific/Honolulu"),
        ("GMT", "UTC"),
        ("UTC", "UTC"),
        ("London", "Europe/London"),
        ("Paris", "Europe/Paris"),
        ("Berlin", "Europe/Berlin"),
        ("Tokyo", "Asia/Tokyo"),
        ("Sydney", "Australia/Sydney"),
        ("India", "Asia/Kolkata"),
        ("IST", "Asia/Kolkata"),
        ("america/chicago", "America/Chicago"),
        ("new york", "America/New_York"),
        ("los angeles", "America/Los_Angeles"),
        ("toronto", "America/Toronto"),
        ("denver", "America/Denver"),
        ("Buenos Aires", "America/Argentina/Buenos_Aires"),
        ("Pacific Standard Time", "America/Los_Angeles"),
    ],
)
def test_zones_clinicians_name(text: str, zone: str) -> None:
    assert parse_zone(text) == zone
    assert read(text, requested_slot="participant_tz").participant_tz == zone


@pytest.mark.parametrize("text", ["Mars", "Narnia/Central"])
def test_an_unknown_zone_is_refused_with_examples(text: str) -> None:
    message = (
        f"I don't know the time zone “{text}”. Try a city (London), a US zone (Eastern) "
        "or an IANA name (America/Chicago)."
    )
    with pytest.raises(ExtractionError) as raised:
        parse_zone(text)
    assert str(raised.value) == message
    assert read(text, requested_slot="participant_tz").problems == {"participant_tz": message}


def test_zones_inside_a_longer_message() -> None:
    assert read("JD at 3pm PST").participant_tz == "America/Los_Angeles"
    assert read("JD at 3pm Denver time").participant_tz == "America/Denver"
    assert read("JD at 3pm America/Chicago").participant_tz == "America/Chicago"


def test_lower_case_abbreviations_are_not_zones_inside_a_sentence() -> None:
    found = read("Jo pt 3pm")

    assert found.participant_tz is None


def test_a_city_is_a_name_when_a_name_was_asked() -> None:
    found = read("Paris Hilton", requested_slot="participant")

    assert found.participant == "Paris Hilton"
    assert found.participant_tz is None


def test_zone_type_ahead_puts_the_likely_zone_first() -> None:
    assert zone_choices("east")[0] == ("America/New_York", "Eastern Time (America/New_York)")
    assert zone_choices("lon")[0] == ("Europe/London", "London (Europe/London)")
    assert zone_choices("chic")[0][0] == "America/Chicago"
    assert zone_choices("buenos")[0][0] == "America/Argentina/Buenos_Aires"


def test_zone_type_ahead_without_a_prefix_lists_us_zones_first_and_respects_the_limit() -> None:
    choices = zone_choices("", limit=5)

    assert len(choices) == 5
    assert choices[0][0] == "America/New_York"
    assert zone_choices("zzz") == []


# --- amounts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("$120", "120.00"),
        ("120", "120.00"),
        ("120.5", "120.50"),
        ("$1,200.00", "1200.00"),
        ("80 dollars", "80.00"),
        ("USD 80", "80.00"),
    ],
)
def test_amounts(text: str, amount: str) -> None:
    assert parse_amount(text) == Decimal(amount)


def test_a_bare_number_is_an_amount_only_when_the_amount_was_asked() -> None:
    assert read("15", requested_slot="amount").amount == Decimal("15.00")
    assert read("15").amount is None
    assert read("charge $120").amount == Decimal("120.00")


@pytest.mark.parametrize("text", ["-20", "$-5", "0", "$0.00"])
def test_the_amount_must_be_more_than_zero(text: str) -> None:
    with pytest.raises(ExtractionError, match=r"more than \$0"):
        parse_amount(text)


def test_negative_dollars_in_a_message_are_a_problem() -> None:
    assert read("$-20").problems == {"amount": "The amount must be more than $0."}


def test_no_fractions_of_a_cent() -> None:
    with pytest.raises(ExtractionError, match="two decimals"):
        parse_amount("12.345")


# --- documents and services --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("intake packet", "intake"),
        ("intake", "intake"),
        ("the consent forms", "consent"),
        ("consent form", "consent"),
        ("consent", "consent"),
    ],
)
def test_document_packages_by_key_name_or_word(text: str, key: str) -> None:
    assert read(f"send {text}").documents == key


def test_no_documents() -> None:
    assert read("JD no documents").documents == "none"
    assert read("none", requested_slot="documents").documents == "none"
    assert read("no", requested_slot="documents").documents == "none"


@pytest.mark.parametrize(
    ("text", "key"),
    [("initial consultation", "initial"), ("a follow-up", "followup"), ("followup", "followup")],
)
def test_services_by_key_name_or_word(text: str, key: str) -> None:
    assert read(f"{text} with JD").service == key


def test_without_packages_nothing_is_a_document() -> None:
    assert extract("intake packet", now=NOW).documents is None


# --- participants ------------------------------------------------------------------------


def test_participant_names_and_initials() -> None:
    assert read("JD", requested_slot="participant").participant == "JD"
    assert read("Schedule a session with Mary-Jane O'Neil").participant == "Mary-Jane O'Neil"
    assert read("book J.D. tomorrow").participant == "J.D."


def test_parse_participant_tidies_what_was_typed() -> None:
    assert parse_participant('  "Jane   Doe" ') == "Jane Doe"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("J", "at least 2 characters"),
        ("123", "letter"),
        ("!!", "letter"),
        ("x" * 81, "too long"),
    ],
)
def test_participant_names_that_are_refused(text: str, message: str) -> None:
    with pytest.raises(ExtractionError, match=message):
        parse_participant(text)


def test_a_one_letter_name_is_a_problem_when_the_name_was_asked() -> None:
    assert read("J", requested_slot="participant").problems.keys() == {"participant"}


def test_sentences_are_not_names() -> None:
    assert read("can you move it to 3pm please").participant is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("tomorrow at 3pm with Jane Smith, consent forms", "Jane Smith"),
        ("tomorrow at 3pm with J. Smith, consent forms, $80", "J. Smith"),
        ("Jane Smith, tomorrow 3pm, move it later", "Jane Smith"),
    ],
)
def test_a_name_in_a_list_of_other_answers_is_found(text: str, name: str) -> None:
    found = read(text)
    assert found.participant == name
    assert found.time == datetime.time(15, 0)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("schedule tmrw at noon w/ Dr. K. O'Brien-Smith", "Dr. K. O'Brien-Smith"),
        ("with Mary J. Blige tomorrow 3pm", "Mary J. Blige"),
        ("participant: A. B. Carter, tomorrow 3pm", "A. B. Carter"),
        ("client: Jane Doe tomorrow 3pm", "Jane Doe"),
        ("see A. Lee tomorrow at 3pm", "A. Lee"),
        ("JD tomorrow 3pm.", "JD"),  # a sentence's period is not part of a name
    ],
)
def test_a_name_is_stored_as_written_initials_and_their_periods_too(text: str, name: str) -> None:
    found = read(text)
    assert found.participant == name
    assert not found.unread


def test_a_greeting_is_not_a_participant() -> None:
    assert read("hi, tomorrow 3pm").participant is None


def test_a_time_in_the_participants_zone_is_placed_in_the_clinicians() -> None:
    found = read("make it 3pm her time", participant_zone="Europe/London")
    assert found.time == datetime.time(10, 0)  # 3 PM in London is 10 AM in New York
    assert found.notes == ("3:00 PM London is 10:00 AM your time.",)
    assert not found.unread and not found.problems
    # The zone may come in the same message.
    found = read("JD tomorrow 10am their time, they're in Berlin")
    assert (found.time, found.participant_tz) == (datetime.time(4, 0), "Europe/Berlin")
    # With no zone for them yet, the time is not guessed in anyone's zone: it is asked.
    found = read("tomorrow at 10 the client's time")
    assert found.time is None and "participant's time zone" in found.problems["time"]


def test_a_national_number_is_read_in_the_country_the_same_message_places_them() -> None:
    found = read("Priya, she's in London, text her on 07911 123456")
    assert (found.phone, found.participant_tz) == ("+447911123456", "Europe/London")
    assert "phone" not in found.problems
    # A number valid only in the practice's country is still read there.
    assert read("in London, text 617 555 0101").phone == "+16175550101"


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("actually the day after", 1),
        ("it's the next day", 1),
        ("the following day", 1),
        ("the day before, at 4pm", -1),
        ("the week after", 7),
        ("the previous week", -7),
    ],
)
def test_the_day_after_moves_the_drafts_date_and_is_never_a_name(text: str, days: int) -> None:
    found = read(text)
    assert found.shift is not None and found.shift.days == days
    assert found.participant is None and not found.unread


def test_the_day_after_a_named_day_is_that_date_not_a_move() -> None:
    found = read("the day after tomorrow")
    assert found.date == day("2026-11-26") and found.shift is None


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("monday after next at 11", "2026-12-07"),  # said on Tuesday, Nov 24
        ("the Tuesday after next", "2026-12-08"),
        ("next week tuesday 9am", "2026-12-01"),
        ("Thursday next week at 3", "2026-12-03"),
        ("friday of next week", "2026-12-04"),
    ],
)
def test_a_weekday_of_next_week_or_after_next_is_that_day(text: str, date: str) -> None:
    found = read(text)
    assert found.date == day(date)
    assert not found.unread


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Jane's session thursday 1:30", "Jane"),
        ("book Ana Ruiz's follow-up for friday 2pm", "Ana Ruiz"),
        ("it's Mary's intake tomorrow at 9", "Mary"),
    ],
)
def test_the_name_owning_the_session_is_the_participant(text: str, name: str) -> None:
    found = read(text)
    assert found.participant == name
    assert not found.unread


def test_an_office_abbreviation_is_not_a_name() -> None:
    found = read("eod friday")
    assert found.participant is None and found.date == day("2026-11-27")


@pytest.mark.parametrize(
    ("text", "zone"),
    [("she's on GMT+2", "Etc/GMT-2"), ("UTC-5", "Etc/GMT+5"), ("utc+0", "UTC")],
)
def test_a_utc_offset_is_that_fixed_zone_not_utc(text: str, zone: str) -> None:
    found = read(text)
    assert found.participant_tz == zone and not found.unread


def test_a_fixed_offset_is_shown_as_people_write_it() -> None:
    assert zone_label("Etc/GMT-2") == "UTC+2 (a fixed offset: no daylight saving)"
    found = read("tomorrow 3pm GMT+1")
    assert found.time == datetime.time(9, 0)
    assert found.notes == ("3:00 PM UTC+1 is 9:00 AM your time.",)


def test_a_half_hour_offset_asks_for_a_city_and_is_no_time() -> None:
    found = read("she's on UTC+05:30")
    assert found.time is None and found.participant_tz is None
    assert "Kolkata" in found.problems["participant_tz"]


@pytest.mark.parametrize("text", ["it's free", "pro bono session", "it's complimentary"])
def test_free_is_no_payment_and_never_a_name(text: str) -> None:
    found = read(text)
    assert found.payment_required is False and found.participant is None


@pytest.mark.parametrize(
    ("text", "amount"), [("charge $95", "95"), ("bill them 120 dollars", "120")]
)
def test_the_words_around_an_amount_are_understood(text: str, amount: str) -> None:
    found = read(text)
    assert found.amount == Decimal(amount) and not found.unread


def test_two_packages_named_are_asked_about_since_a_session_takes_one() -> None:
    found = read("consent forms and intake")
    assert found.documents is None
    assert "one package" in found.problems["documents"]
    assert dict(found.choices)["documents"] == [
        ("Consent forms", "consent"), ("Intake packet", "intake")
    ]  # fmt: skip


@pytest.mark.parametrize("text", ["it's jane tomorrow 3pm", "actually later", "it's late"])
def test_a_lower_case_word_after_a_weak_marker_is_said_back_not_taken(text: str) -> None:
    assert read(text).participant is None


@pytest.mark.parametrize(
    ("text", "start", "minutes"),
    [
        ("JD tomorrow 3-4pm", datetime.time(15), 60),
        ("JD tomorrow from 3 to 4", datetime.time(15), 60),
        ("between 2:30 and 3:30", datetime.time(14, 30), 60),
        ("11-1pm", datetime.time(11), 120),
    ],
)
def test_a_span_of_time_takes_its_start_and_its_length(
    text: str, start: datetime.time, minutes: int
) -> None:
    """The length is the slot table's (actions/slot_table/length.py), which says it back."""
    found = read(text)
    assert found.time == start and not found.unread
    assert found.slots()["length"] == minutes


@pytest.mark.parametrize(
    ("text", "time"), [("5 to 4", datetime.time(15, 55)), ("10 after 9", datetime.time(9, 10))]
)
def test_minutes_to_or_after_an_hour_are_still_a_clock_time(text: str, time: datetime.time) -> None:
    assert read(text).time == time


def test_a_span_that_is_no_clock_phrase_is_asked_not_read_as_minutes_to() -> None:
    found = read("JD tomorrow 3 to 7")  # not 6:57
    assert found.time is None and "give the start" in found.problems["time"]


def test_for_an_hour_is_no_participant() -> None:
    found = read("JD tomorrow 3pm for an hour")
    assert found.participant == "JD"


def test_two_dates_or_two_times_in_one_message_are_asked_not_the_first_taken() -> None:
    found = read("JD tomorrow 3pm and friday 4pm")
    assert found.date is None and found.time is None
    assert dict(found.choices)["date"] == [
        ("Wednesday, November 25", "2026-11-25"), ("Friday, November 27", "2026-11-27")
    ]  # fmt: skip
    assert dict(found.choices)["time"] == [("3:00 PM", "15:00"), ("4:00 PM", "16:00")]
    # A correction that says which is not a second time.
    assert read("make it 4pm instead of 3pm").time == datetime.time(16, 0)


def test_a_weekday_beside_its_own_date_is_that_date_and_a_mismatch_is_asked() -> None:
    assert read("friday dec 4").date == day("2026-12-04")
    assert "more than one date" in read("friday dec 5").problems["date"]  # Dec 5 is a Saturday


def test_tonight_at_8_is_in_the_evening() -> None:
    found = read("tonight at 8")
    assert (found.date, found.time) == (day("2026-11-24"), datetime.time(20, 0))
    assert read("tonight at 11am").time == datetime.time(11, 0)


@pytest.mark.parametrize(
    ("text", "zone"),
    [("shes in denver", "America/Denver"), ("theyre based in Austin", "America/Chicago")],
)
def test_where_they_are_typed_without_apostrophes_is_their_zone(text: str, zone: str) -> None:
    found = read(text)
    assert found.participant_tz == zone and not found.problems
