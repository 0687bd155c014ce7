"""Series in the clinician's words: the phrase table, the expansion through the one rule
for a new start, and the summary lines."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ground.practice import Practice
from scheduling import clashes, recurrence
from scheduling.recurrence import Recurrence

TODAY = date(2026, 11, 24)  # a Tuesday
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 AM Eastern
EASTERN = "America/New_York"
TUE, THU, MON = 1, 3, 0


@pytest.mark.parametrize(
    ("text", "interval", "weekday", "count", "until", "claimed"),
    [
        ("every Tuesday at 10am for 6 weeks", 1, TUE, 6, None, ["every Tuesday", "for 6 weeks"]),
        ("weekly for 8 sessions", 1, None, 8, None, ["weekly", "for 8 sessions"]),
        (
            "every other Thursday until March 1",
            2,
            THU,
            None,
            date(2027, 3, 1),
            ["every other Thursday", "until March 1"],
        ),
        ("every other Thursday for 6 weeks", 2, THU, 3, None, None),
        ("fortnightly, 5 times", 2, None, 5, None, ["fortnightly", "5 times"]),
        ("every 3 weeks on Monday for ten sessions", 3, MON, 10, None, None),
        ("each week until 1/15", 1, None, None, date(2027, 1, 15), None),
        ("every week on Mondays until Dec 21, 2026", 1, MON, None, date(2026, 12, 21), None),
        ("weekly", 1, None, None, None, ["weekly"]),
        ("every second Tue through Feb 2nd", 2, TUE, None, date(2027, 2, 2), None),
    ],
)
def test_phrases_read_as_a_series(
    text: str,
    interval: int,
    weekday: int | None,
    count: int | None,
    until: date | None,
    claimed: list[str] | None,
) -> None:
    found = recurrence.parse_recurrence(text, TODAY)
    assert found is not None
    assert (found.interval, found.weekday, found.count, found.until) == (
        interval,
        weekday,
        count,
        until,
    )
    if claimed is not None:  # what is left ("at 10am") is for the time slot
        assert [text[a:b] for a, b in found.spans] == claimed


@pytest.mark.parametrize(
    "text",
    ["tomorrow at 3pm", "for 6 weeks", "Tuesday at 10", "JD next Thursday", "weekday mornings"],
)
def test_phrases_without_repetition_are_no_series(text: str) -> None:
    assert recurrence.parse_recurrence(text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "weeks"),
    [("same time next week", 1), ("Same time in two weeks please", 2), ("next week", None)],
)
def test_same_time_next_week(text: str, weeks: int | None) -> None:
    assert recurrence.next_week_shift(text) == weeks


def test_expand_keeps_the_wall_time_across_the_clock_change() -> None:
    rec = recurrence.parse_recurrence("every other Thursday until March 25", TODAY)
    assert rec is not None
    found = recurrence.expand(rec, date(2027, 2, 25), 10, 0, EASTERN, NOW, Practice())
    assert found.problem is None
    assert [s.isoformat() for s in found.starts] == [
        "2027-02-25T15:00:00+00:00",  # 10 AM EST
        "2027-03-11T15:00:00+00:00",
        "2027-03-25T14:00:00+00:00",  # 10 AM EDT
    ]


def test_expand_starts_on_the_named_weekday() -> None:
    rec = recurrence.parse_recurrence("every Thursday for 2 weeks", TODAY)
    assert rec is not None
    found = recurrence.expand(rec, date(2026, 11, 30), 9, 0, EASTERN, NOW, Practice())
    assert [s.date().isoformat() for s in found.starts] == ["2026-12-03", "2026-12-10"]


def test_a_series_through_a_skipped_hour_is_refused_whole() -> None:
    rec = Recurrence(weekday=6, count=4)
    found = recurrence.expand(rec, date(2027, 3, 7), 2, 30, EASTERN, NOW, Practice())
    assert found.starts == ()
    assert found.problem == (
        "The session on Sun, Mar 14, 2027 can't be booked: 2:30 AM doesn't exist on "
        "March 14: the clocks move forward then. Pick another time for the series."
    )


def test_a_series_starting_in_the_past_or_ending_before_it_starts_is_refused() -> None:
    past = recurrence.expand(
        Recurrence(count=3), date(2026, 11, 17), 10, 0, EASTERN, NOW, Practice()
    )
    assert past.problem == "That date has passed: pick today or a later date."
    backwards = Recurrence(until=date(2026, 11, 30))
    found = recurrence.expand(backwards, date(2026, 12, 1), 10, 0, EASTERN, NOW, Practice())
    assert found.problem == (
        "Mon, Nov 30, 2026 is before the first session (Tue, Dec 1, 2026): pick a later end date."
    )
    open_ended = recurrence.expand(Recurrence(), date(2026, 12, 1), 10, 0, EASTERN, NOW, Practice())
    assert open_ended.problem is not None and "for 6 weeks" in open_ended.problem


def test_the_practice_sets_the_longest_series() -> None:
    rec = recurrence.parse_recurrence("weekly until Dec 31, 2027", TODAY)
    assert rec is not None
    found = recurrence.expand(rec, date(2026, 12, 1), 10, 0, EASTERN, NOW, Practice(max_series=60))
    assert len(found.starts) == 57 and found.problem is None
    refused = recurrence.expand(rec, date(2026, 12, 1), 10, 0, EASTERN, NOW, Practice())
    assert refused.problem is not None and refused.problem.startswith("That would be 57 sessions")


def test_summary_lists_the_first_dates_the_count_and_the_overlaps() -> None:
    rec = recurrence.parse_recurrence("every Tuesday for 6 weeks", TODAY)
    assert rec is not None
    found = recurrence.expand(rec, date(2026, 12, 1), 10, 0, EASTERN, NOW, Practice())
    clash = clashes.overlap_text(
        [clashes.Overlap("x", "S.R.", datetime(2026, 12, 29, 15, 30, tzinfo=UTC))], EASTERN
    )
    lines = recurrence.summary_lines(found.starts, EASTERN, rec, {4: clash})
    assert lines == [
        "6 sessions, every Tuesday:",
        "• Tue, Dec 1, 2026, 10:00 AM EST",
        "• Tue, Dec 8, 2026, 10:00 AM EST",
        "• Tue, Dec 15, 2026, 10:00 AM EST",
        "• … and 3 more, the last on Tue, Jan 5, 2027, 10:00 AM EST",
        "⚠ Tue, Dec 29, 2026, 10:00 AM EST: It overlaps your session with S.R. on "
        "Tue, Dec 29, 2026, 10:30 AM EST.",
    ]
