"""Phrase tables, slot by slot: what busy clinicians type, what must be read, what must be
refused, and what must be asked. NOW is Tuesday 2026-11-24 10:00 in New York."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal
from typing import TypedDict, Unpack

import pytest

from actions.extraction import Extracted, extract, parse_phone, parse_zone

PACKAGES = {
    "intake": "Intake packet",
    "consent": "Telehealth consent",
    "phq9": "PHQ-9 questionnaire",
}
SERVICES = {"initial": "Initial consultation", "followup": "Follow-up session"}
NY = zoneinfo.ZoneInfo("America/New_York")
NOW = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=NY)


class Options(TypedDict, total=False):
    """The keyword arguments of `extract` a test may set."""

    default_region: str
    working_hours: tuple[int, int]
    participant_region: str | None
    participant_zone: str | None


def read(text: str, requested: str | None = None, **options: Unpack[Options]) -> Extracted:
    return extract(
        text, now=NOW, packages=PACKAGES, services=SERVICES, requested_slot=requested, **options
    )


# --- dates ---------------------------------------------------------------------------------

DATES = [
    ("today", "2026-11-24"),
    ("tomorrow", "2026-11-25"),
    ("tmrw", "2026-11-25"),
    ("tmr", "2026-11-25"),
    ("tommorow", "2026-11-25"),
    ("tomorow 3pm", "2026-11-25"),
    ("day after tomorrow", "2026-11-26"),
    ("the day after tomorrow", "2026-11-26"),
    ("wed", "2026-11-25"),
    ("weds", "2026-11-25"),
    ("wednesday", "2026-11-25"),
    ("wednsday", "2026-11-25"),
    ("wendsday", "2026-11-25"),
    ("thu", "2026-11-26"),
    ("thurs", "2026-11-26"),
    ("thursday", "2026-11-26"),
    ("thrusday", "2026-11-26"),
    ("thursay", "2026-11-26"),
    ("fri", "2026-11-27"),
    ("firday", "2026-11-27"),
    ("frday", "2026-11-27"),
    ("sat", "2026-11-28"),
    ("satruday", "2026-11-28"),
    ("sunday", "2026-11-29"),
    ("mon", "2026-11-30"),
    ("monday", "2026-11-30"),
    ("mondya", "2026-11-30"),
    ("tuesday", "2026-12-01"),
    ("tuseday", "2026-12-01"),
    ("this tuesday", "2026-11-24"),
    ("next tuesday", "2026-12-01"),
    ("next monday", "2026-11-30"),
    ("coming friday", "2026-11-27"),
    ("Dec 3", "2026-12-03"),
    ("dec 3rd", "2026-12-03"),
    ("December 3", "2026-12-03"),
    ("decmber 3", "2026-12-03"),
    ("3 dec", "2026-12-03"),
    ("3rd of December", "2026-12-03"),
    ("the 3rd of december", "2026-12-03"),
    ("december the third", "2026-12-03"),
    ("the third of december", "2026-12-03"),
    ("the second of January", "2027-01-02"),
    ("January second", "2027-01-02"),
    ("jan 2nd", "2027-01-02"),
    ("the twenty-first of december", "2026-12-21"),
    ("december twenty first", "2026-12-21"),
    ("the thirty-first of december", "2026-12-31"),
    ("Jan 5, 2027", "2027-01-05"),
    ("feb 14", "2027-02-14"),
    ("sept 9", "2027-09-09"),
    ("12/3", "2026-12-03"),
    ("12/3/26", "2026-12-03"),
    ("12/03/2026", "2026-12-03"),
    ("2026-12-03", "2026-12-03"),
    ("the 15th", "2026-12-15"),
    ("15th", "2026-12-15"),
    ("on the 30th", "2026-11-30"),
    ("the first", "2026-12-01"),
    ("in 3 days", "2026-11-27"),
    ("in ten days", "2026-12-04"),
    ("in two weeks", "2026-12-08"),
    ("in a week", "2026-12-01"),
    ("in a couple of days", "2026-11-26"),
    ("in a fortnight", "2026-12-08"),
    ("next week", "2026-12-01"),
    ("a week from monday", "2026-12-07"),
    ("a week from Friday", "2026-12-04"),
    ("two weeks from tomorrow", "2026-12-09"),
    ("3 days from now", "2026-11-27"),
    ("ten days out", "2026-12-04"),
    ("in 2 months", "2027-01-24"),
    ("next month", "2026-12-24"),
    ("tonight", "2026-11-24"),
]


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_dates(text: str, expected: str) -> None:
    found = read(text)
    assert found.date == datetime.date.fromisoformat(expected), found


NOT_DATES = [
    "Monica",  # a name that looks like a weekday
    "see Marcy",  # a name close to "march"
    "3 sessions",
    "617-555-0101",
    "$120",
]


@pytest.mark.parametrize("text", NOT_DATES)
def test_not_dates(text: str) -> None:
    found = read(text)
    assert found.date is None, found


BAD_DATES = ["Feb 30", "the 32nd", "13/45", "april 31"]


@pytest.mark.parametrize("text", BAD_DATES)
def test_dates_that_do_not_exist_are_problems(text: str) -> None:
    found = read(text)
    assert found.date is None and "date" in found.problems


def test_next_thursday_on_a_tuesday_takes_this_weeks_and_offers_the_next() -> None:
    found = read("next thursday 3pm")
    assert found.date == datetime.date(2026, 11, 26)
    assert found.choices["date"] == [("Thursday, December 3", "2026-12-03")]
    assert any("December 3" in note for note in found.notes)


def test_next_monday_on_a_tuesday_is_not_ambiguous() -> None:
    assert "date" not in read("next monday").choices


# --- times ---------------------------------------------------------------------------------

TIMES = [
    ("3pm", "15:00"),
    ("3 pm", "15:00"),
    ("3 p.m.", "15:00"),
    ("3PM", "15:00"),
    ("3p", "15:00"),
    ("11a", "11:00"),
    ("11am", "11:00"),
    ("9:30 am", "09:30"),
    ("9:30am", "09:30"),
    ("9.30am", "09:30"),
    ("4:30p", "16:30"),
    ("12pm", "12:00"),
    ("12am", "00:00"),
    ("15:30", "15:30"),
    ("08:00", "08:00"),
    ("at 3", "15:00"),
    ("at 9", "09:00"),
    ("at 8", "08:00"),
    ("at 7", "19:00"),
    ("at 11", "11:00"),
    ("at 12", "12:00"),
    ("@ 4", "16:00"),
    ("4 o'clock", "16:00"),
    ("four o'clock", "16:00"),
    ("10 oclock", "10:00"),
    ("noon", "12:00"),
    ("midday", "12:00"),
    ("midnight", "00:00"),
    ("a quarter past 4", "16:15"),
    ("quarter past four", "16:15"),
    ("quarter to 5", "16:45"),
    ("a quarter to nine", "08:45"),
    ("twenty to six", "17:40"),
    ("ten past nine", "09:10"),
    ("five to 4", "15:55"),
    ("25 past 3", "15:25"),
    ("half past 3", "15:30"),
    ("half past ten", "10:30"),
    ("half 3", "15:30"),
    ("half 9", "09:30"),
    ("20 after 2", "14:20"),
    ("a quarter past 9 in the morning", "09:15"),
    ("at 6 in the evening", "18:00"),
    ("at 9 in the morning", "09:00"),
    ("at 8 tonight", "20:00"),
    ("4 in the afternoon", "16:00"),
    ("quarter past 4pm", "16:15"),
    ("actually make it 11", "11:00"),
    ("make it 4:30", "16:30"),
]


@pytest.mark.parametrize(("text", "expected"), TIMES)
def test_times(text: str, expected: str) -> None:
    found = read(text)
    assert found.time == datetime.time.fromisoformat(expected), found


BARE_TIMES = [("3", "15:00"), ("9", "09:00"), ("7", "19:00"), ("5:30", "17:30"), ("11", "11:00")]


@pytest.mark.parametrize(("text", "expected"), BARE_TIMES)
def test_bare_hours_answer_the_time_question_within_working_hours(text: str, expected: str) -> None:
    assert read(text, "time").time == datetime.time.fromisoformat(expected)
    if ":" not in text:
        assert read(text).time is None  # a bare number is a time only when one was asked


def test_at_7_is_asked_when_the_practice_works_both_7s() -> None:
    found = read("at 7", working_hours=(6, 22))
    assert found.time is None
    assert found.problems["time"] == "Do you mean 7:00 AM or 7:00 PM?"
    assert found.choices["time"] == [("7:00 AM", "07:00"), ("7:00 PM", "19:00")]


BAD_TIMES = ["25:00", "13pm", "10:75", "quarter past 13"]


@pytest.mark.parametrize("text", BAD_TIMES)
def test_times_that_do_not_exist_are_problems_when_asked(text: str) -> None:
    found = read(text, "time")
    assert found.time is None and "time" in found.problems


ZONED_TIMES = [
    ("4:30pm central", "17:30", "America/Chicago"),
    ("4:30pm Central time", "17:30", "America/Chicago"),
    ("3pm PST", "18:00", "America/Los_Angeles"),
    ("3pm pacific", "18:00", "America/Los_Angeles"),
    ("9am London time", "04:00", "Europe/London"),
    ("noon mountain", "14:00", "America/Denver"),
    ("3pm ET", "15:00", "America/New_York"),
    ("3pm eastern", "15:00", "America/New_York"),
]


@pytest.mark.parametrize(("text", "time", "zone"), ZONED_TIMES)
def test_a_time_with_a_zone_is_that_zones_time(text: str, time: str, zone: str) -> None:
    found = read(f"tomorrow {text}")
    assert found.time == datetime.time.fromisoformat(time)
    assert found.participant_tz == zone


def test_my_time_after_a_time_is_the_clinicians_zone_not_the_participants() -> None:
    found = read("tomorrow 3pm my time")
    assert found.time == datetime.time(15, 0)
    assert found.participant_tz is None


def test_a_zoned_time_across_midnight_moves_the_date_too() -> None:
    found = read("dec 3 at 11pm pacific")
    assert (found.date, found.time) == (datetime.date(2026, 12, 4), datetime.time(2, 0))


# --- shifts --------------------------------------------------------------------------------

SHIFTS = [
    ("push it back 30 minutes", 30, 0),
    ("push it back an hour", 60, 0),
    ("an hour later", 60, 0),
    ("30 minutes earlier", -30, 0),
    ("30 min earlier", -30, 0),
    ("move it up an hour", -60, 0),
    ("bring it forward 15 minutes", -15, 0),
    ("make it half an hour later", 30, 0),
    ("2 hours later", 120, 0),
    ("an hour and a half later", 90, 0),
    ("push it back a day", 0, 1),
    ("a day earlier", 0, -1),
    ("push it a week later", 0, 7),
    ("move it back by 15 mins", 15, 0),
    ("15 minutes later please", 15, 0),
]


@pytest.mark.parametrize(("text", "minutes", "days"), SHIFTS)
def test_shifts(text: str, minutes: int, days: int) -> None:
    found = read(text)
    assert found.shift is not None, found
    assert (found.shift.minutes, found.shift.days) == (minutes, days)
    assert found.intent is None and found.time is None and found.date is None


# --- participants --------------------------------------------------------------------------

NAMES = [
    ("with Jane Smith tomorrow 3pm", "Jane Smith"),
    ("with jane tomorrow", "jane"),
    ("with jd at 3pm", "jd"),
    ("see JD tomorrow", "JD"),
    ("for Mr. Alvarez", "Mr. Alvarez"),
    ("that's for Mr. Alvarez", "Mr. Alvarez"),
    ("it's for Dr. Okafor", "Dr. Okafor"),
    ("JD tomorrow 3pm", "JD"),
    ("Jane Smith, tomorrow 3pm", "Jane Smith"),
    ("book J.D. tomorrow", "J.D."),
    ("schedule Ana Lee tomorrow", "Ana Lee"),
    ("client is Maria Lopez", "Maria Lopez"),
    ("the name is Sam", "Sam"),
    ("name should be Sam Park", "Sam Park"),
    ("not JD, it should be JT", "JT"),
    ("it should be JT not JD", "JT"),
    ("+1 617 555 0101 Jane Smith tomorrow 3pm", "Jane Smith"),
    ("tomorrow 3pm by text +1 617 555 0101 with Jo", "Jo"),
    ("no paperwork, with Jo Park, fri 9am", "Jo Park"),
    ("skip documents for Lee", "Lee"),
    ("Mary-Jane O'Neil tomorrow", "Mary-Jane O'Neil"),
    ("session with Zoë Brontë on friday", "Zoë Brontë"),
    ("meet KL at noon", "KL"),
    ("sched w/ jd tmrw 2p", "jd"),
    ("hi can u book me w/ KL fri at noon", "KL"),
    ("book jd for 3pm tomorrow. text 6175550101, pacific, intake.", "jd"),
    ("Can you set up a session with Tom tomorrow morning at 10?", "Tom"),
]


@pytest.mark.parametrize(("text", "name"), NAMES)
def test_names_where_a_name_is_meant(text: str, name: str) -> None:
    found = read(text)
    assert found.participant == name, found


NOT_NAMES = [
    "book a session please",
    "schedule sth for thu 4pm",
    "schedule something for thu 4pm",
    "can you move it to 3pm please",
    "hi, tomorrow 3pm",
    "include the consent form",
    "make it 4pm instead",
    "tomorrow please",
    "send it by text instead",
    "switch to e-mail",
    "the address should be dana.k@clinic.example",
    "her cell is actually 212 555 0188",
    "charge 75 instead",
    "push it back 30 minutes",
    "he's in Phoenix",
    "same timezone as mine",
    "no paperwork",
    "thanks!",
    "ok",
    "yes please",
    "looks good",
    "tomorrow 3pm thx",
    "pls book tomorrow at 4",
    "sounds good",
    "no forms needed",
    "tomorrow morning at 10",
]


@pytest.mark.parametrize("text", NOT_NAMES)
def test_stray_words_are_never_names(text: str) -> None:
    assert read(text).participant is None, read(text)


ANSWERS = [
    ("JD", "JD"),
    ("jd", "jd"),
    ("Jane Doe", "Jane Doe"),
    ("it's Jane", "Jane"),
    ("that's for Mr. Alvarez", "Mr. Alvarez"),
    ("her name is Ana", "Ana"),
    ("Paris Hilton", "Paris Hilton"),
    ("with Jo", "Jo"),
]


@pytest.mark.parametrize(("text", "name"), ANSWERS)
def test_names_answering_who_is_it_with(text: str, name: str) -> None:
    assert read(text, "participant").participant == name


@pytest.mark.parametrize(
    ("text", "slot", "value"),
    [("txt", "invite_channel", "sms"), ("email", "invite_channel", "email"),
     ("pacific", "participant_tz", "America/Los_Angeles"),
     ("mountain", "participant_tz", "America/Denver")],
)  # fmt: skip
def test_other_answers_while_the_name_is_asked_are_not_names(
    text: str, slot: str, value: str
) -> None:
    found = read(text, "participant")
    assert found.participant is None
    assert getattr(found, slot) == value


def test_leftover_words_are_reported_not_stored() -> None:
    found = read("tomorrow 3pm blorp")
    assert found.participant is None
    assert found.unread == ("blorp",)


# --- channels ------------------------------------------------------------------------------

CHANNELS = [
    ("by text", "sms"),
    ("by text message", "sms"),
    ("via sms", "sms"),
    ("send it by text instead", "sms"),
    ("text her instead", "sms"),
    ("switch to text", "sms"),
    ("switch it to sms", "sms"),
    ("change to text message", "sms"),
    ("by email", "email"),
    ("by e-mail", "email"),
    ("via email", "email"),
    ("switch to e-mail", "email"),
    ("switch to email instead", "email"),
    ("change it to email", "email"),
    ("by mail ana@example.com", "email"),  # a second language's "mail" (French, German)
    ("send it via mail", "email"),
    ("no invite", "none"),
    ("no invitation", "none"),
    ("don't send an invite", "none"),
    ("don't invite them", "none"),
    ("without an invitation", "none"),
    ("skip the invite", "none"),
]


@pytest.mark.parametrize(("text", "channel"), CHANNELS)
def test_channels(text: str, channel: str) -> None:
    assert read(text).invite_channel == channel


@pytest.mark.parametrize(("text", "channel"), [("text", "sms"), ("cell", "sms"),
                                                ("email", "email"), ("none", "none"),
                                                ("no", "none")])  # fmt: skip
def test_bare_channel_answers(text: str, channel: str) -> None:
    assert read(text, "invite_channel").invite_channel == channel


def test_the_email_address_should_be_is_not_a_channel_change() -> None:
    found = read("the email should be dana.k@clinic.example")
    assert found.invite_channel is None and found.email == "dana.k@clinic.example"


# --- e-mail --------------------------------------------------------------------------------

EMAILS = [
    ("jane@example.com", "jane@example.com"),
    ("Jane.Doe@Example.com", "Jane.Doe@example.com"),
    ("the address should be dana.k@clinic.example", "dana.k@clinic.example"),
    ("email is jo+notes@example.org.", "jo+notes@example.org"),
    ("<mailto:a.b@example.com|a.b@example.com>", "a.b@example.com"),
    ("send to o'neil@example.co.uk please", "o'neil@example.co.uk"),
    ("jane@example.com instead of jo@example.com", "jane@example.com"),
]


@pytest.mark.parametrize(("text", "address"), EMAILS)
def test_emails(text: str, address: str) -> None:
    assert read(text).email == address


@pytest.mark.parametrize("text", ["bob@", "bob@example", "bob@@example.com"])
def test_bad_emails_are_problems(text: str) -> None:
    assert "email" in read(text).problems


# --- phones --------------------------------------------------------------------------------

PHONES = [
    ("+1 617 555 0101", "+16175550101"),
    ("617 555 0101", "+16175550101"),
    ("(617) 555-0101", "+16175550101"),
    ("617.555.0101", "+16175550101"),
    ("617-555-0101", "+16175550101"),
    ("6175550101", "+16175550101"),
    ("1-617-555-0101", "+16175550101"),
    ("her cell is actually 212 555 0188", "+12125550188"),
    ("+44 20 7946 0958", "+442079460958"),
    ("+49 (0)151 2345 6789", "+4915123456789"),
    ("+49 151 23456789", "+4915123456789"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("+61 412 345 678", "+61412345678"),
    ("<tel:+16175550101|617 555 0101>", "+16175550101"),
    ("call 617-555-0101, $120", "+16175550101"),
    ("by text 617 555 0101 tomorrow 3pm", "+16175550101"),
    ("not 617 555 0199 but 212 555 0188", "+12125550188"),
]


@pytest.mark.parametrize(("text", "number"), PHONES)
def test_phones(text: str, number: str) -> None:
    assert read(text).phone == number


def test_a_national_number_is_read_in_the_participants_country() -> None:
    assert parse_phone("030 1234567", "US", "DE") == "+49301234567"
    assert read("0151 23456789", participant_region="DE").phone == "+4915123456789"


@pytest.mark.parametrize("text", ["555-01", "+1 555", "+999 1234 5678"])
def test_bad_phones_are_problems(text: str) -> None:
    assert "phone" in read(text).problems


# --- zones ---------------------------------------------------------------------------------

ZONES = [
    ("he's in Phoenix", "America/Phoenix"),
    ("she's in phoenix", "America/Phoenix"),
    ("he is in Denver", "America/Denver"),
    ("she lives in Lyon", "Europe/Paris"),
    ("they're in Toronto", "America/Toronto"),
    ("client is in Ohio", "America/New_York"),
    ("she's based in Austin", "America/Chicago"),
    ("he's in Seattle", "America/Los_Angeles"),
    ("she's in Japan", "Asia/Tokyo"),
    ("he's in Nairobi", "Africa/Nairobi"),
    ("in Leeds", "Europe/London"),
    ("Boston time", "America/New_York"),
    ("Denver time", "America/Denver"),
    ("Buenos Aires time", "America/Argentina/Buenos_Aires"),
    ("Eastern", "America/New_York"),
    ("pacific time", "America/Los_Angeles"),
    ("central", "America/Chicago"),
    ("PST", "America/Los_Angeles"),
    ("EST", "America/New_York"),
    ("America/Chicago", "America/Chicago"),
    ("same as me", "America/New_York"),
    ("same as mine", "America/New_York"),
    ("same timezone as mine", "America/New_York"),
    ("same time zone as me", "America/New_York"),
    ("same zone as me", "America/New_York"),
    ("my time zone", "America/New_York"),
    ("same as my zone", "America/New_York"),
]


@pytest.mark.parametrize(("text", "zone"), ZONES)
def test_zones(text: str, zone: str) -> None:
    assert read(text).participant_tz == zone, read(text)


ZONE_ANSWERS = [
    ("same", "America/New_York"),
    ("mine", "America/New_York"),
    ("local", "America/New_York"),
    ("phoenix", "America/Phoenix"),
    ("lyon", "Europe/Paris"),
    ("Mumbai", "Asia/Kolkata"),
    ("sao paulo", "America/Sao_Paulo"),
    ("texas", "America/Chicago"),
    ("california", "America/Los_Angeles"),
    ("germany", "Europe/Berlin"),
    ("pst", "America/Los_Angeles"),
    ("he's in Phoenix", "America/Phoenix"),
    ("same as me", "America/New_York"),
    ("Paris", "Europe/Paris"),
    ("London", "Europe/London"),
]


@pytest.mark.parametrize(("text", "zone"), ZONE_ANSWERS)
def test_zone_answers(text: str, zone: str) -> None:
    assert read(text, "participant_tz").participant_tz == zone


@pytest.mark.parametrize("city", ["Springfield", "Birmingham", "Manchester"])
def test_a_city_of_several_zones_is_asked_with_buttons(city: str) -> None:
    found = read(city, "participant_tz")
    assert found.participant_tz is None
    assert found.problems["participant_tz"].startswith("Which ")
    assert len({zone for _, zone in found.choices["participant_tz"]}) >= 2


def test_a_city_much_bigger_than_its_namesakes_is_taken() -> None:
    assert parse_zone("Portland") == "America/Los_Angeles"
    assert parse_zone("Paris") == "Europe/Paris"


@pytest.mark.parametrize("text", ["Jane Paris", "see Austin tomorrow", "Jo pt 3pm"])
def test_bare_cities_and_lower_case_abbreviations_are_not_zones(text: str) -> None:
    assert read(text).participant_tz is None


# --- documents and services ----------------------------------------------------------------

DOCUMENTS = [
    ("intake packet", "intake"),
    ("the intake", "intake"),
    ("include the consent form", "consent"),
    ("telehealth consent", "consent"),
    ("phq-9", "phq9"),
    ("not intake, the PHQ-9", "phq9"),
    ("PHQ9", "phq9"),
    ("no paperwork", "none"),
    ("skip documents", "none"),
    ("no forms", "none"),
    ("no docs", "none"),
    ("without any documents", "none"),
    ("don't need forms", "none"),
    ("documents: none", "none"),
]


@pytest.mark.parametrize(("text", "key"), DOCUMENTS)
def test_documents(text: str, key: str) -> None:
    assert read(text).documents == key


@pytest.mark.parametrize(("text", "key"), [("none", "none"), ("no", "none"), ("n/a", "none"),
                                            ("skip", "none"), ("nah", "none"),
                                            ("no thx", "none")])  # fmt: skip
def test_no_documents_answers(text: str, key: str) -> None:
    assert read(text, "documents").documents == key


@pytest.mark.parametrize(("text", "key"), [("initial consultation", "initial"),
                                            ("a follow-up", "followup"),
                                            ("make it a followup", "followup")])  # fmt: skip
def test_services(text: str, key: str) -> None:
    assert read(text).service == key


# --- amounts -------------------------------------------------------------------------------

AMOUNTS = [
    ("$120", "120.00"),
    ("$95.50", "95.50"),
    ("80 dollars", "80.00"),
    ("80 bucks", "80.00"),
    ("USD 80", "80.00"),
    ("charge 75 instead", "75.00"),
    ("charge them 75", "75.00"),
    ("the fee is 90", "90.00"),
    ("price should be 110", "110.00"),
    ("bill 60", "60.00"),
    ("$1,200", "1200.00"),
]


@pytest.mark.parametrize(("text", "amount"), AMOUNTS)
def test_amounts(text: str, amount: str) -> None:
    assert read(text).amount == Decimal(amount)


@pytest.mark.parametrize("text", ["75", "3 sessions", "tomorrow at 3"])
def test_a_bare_number_is_no_amount_unless_asked(text: str) -> None:
    assert read(text).amount is None


# --- many answers in one message, in any order ---------------------------------------------

PARTS = {
    "date": ("tomorrow", datetime.date(2026, 11, 25)),
    "time": ("3pm", datetime.time(15, 0)),
    "participant": ("with Jo Park", "Jo Park"),
    "invite_channel": ("by text", "sms"),
    "phone": ("617 555 0101", "+16175550101"),
    "documents": ("no paperwork", "none"),
    "participant_tz": ("he's in Phoenix", "America/Phoenix"),
}


@pytest.mark.parametrize("rotation", range(len(PARTS)))
@pytest.mark.parametrize("separator", [" ", ", "])
def test_one_message_in_any_order(rotation: int, separator: str) -> None:
    names = list(PARTS)
    order = names[rotation:] + names[:rotation]
    text = separator.join(PARTS[name][0] for name in order)
    found = read(text)
    assert found.slots() == {name: value for name, (_, value) in PARTS.items()}, text
    assert found.unread == () and found.problems == {}


def test_reversed_order_too() -> None:
    text = ", ".join(PARTS[name][0] for name in reversed(list(PARTS)))
    assert read(text).slots() == {name: value for name, (_, value) in PARTS.items()}


@pytest.mark.parametrize(
    "text", ["save", "looks good", "sounds good", "go ahead", "perfect", "lgtm", "yes save"]
)
def test_ways_to_say_save(text: str) -> None:
    assert read(text).intent == "save"


@pytest.mark.parametrize(
    "text", ["push it back", "push it back 30 minutes", "move it back an hour"]
)
def test_pushing_back_is_not_going_back(text: str) -> None:
    assert read(text).intent != "back"


@pytest.mark.parametrize(
    ("text", "required"),
    [("no payment", False), ("don't charge them", False), ("free session", False),
     ("skip the payment", False), ("no charge", False), ("require payment", True),
     ("payment required", True), ("take payment", True)],
)  # fmt: skip
def test_whether_payment_is_required(text: str, required: bool) -> None:
    assert read(text).payment_required is required


def test_charge_with_an_amount_is_the_amount_not_the_question() -> None:
    found = read("charge them 75")
    assert found.amount == Decimal("75.00") and found.payment_required is None


@pytest.mark.parametrize(
    "text", ["cancel the consent form", "drop the intake", "no PHQ-9", "remove the intake packet",
             "don't send the consent"],
)  # fmt: skip
def test_taking_the_package_away_is_no_documents_not_a_cancel(text: str) -> None:
    found = read(text)
    assert found.documents == "none" and found.intent is None, found


def test_not_one_package_but_another_is_the_other() -> None:
    assert read("not intake, the PHQ-9").documents == "phq9"


@pytest.mark.parametrize(
    "text", ["let's meet same time", "at the same time", "the date is fine", "her mobile"]
)
def test_towns_named_like_scheduling_words_are_not_zones(text: str) -> None:
    # Same (Tanzania), Time (Norway), Date (Japan), Mobile (Alabama) are in the gazetteer.
    assert "participant_tz" not in read(text).slots()
