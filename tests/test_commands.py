"""The one rule for a new start, and the clinician commands, as every face uses them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from conftest import TEST_KEY, make_session

from ground.practice import Practice
from scheduling import commands, starts
from sessionbot.cli import LOCAL_TEAM, main
from sessionbot.wiring import Parts
from store import clinician_rows, session_rows

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday 10:00 AM Eastern
EASTERN = "America/New_York"


def test_a_start_the_clocks_skip_is_refused() -> None:
    check = starts.check_start(date(2027, 3, 14), 2, 30, EASTERN, NOW)
    assert check.start is None
    assert check.problem == "2:30 AM doesn't exist on March 14: the clocks move forward then."


def test_a_start_that_happens_twice_takes_the_first_and_says_so() -> None:
    check = starts.check_start(date(2027, 11, 7), 1, 30, EASTERN, NOW)
    assert check.start == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # 1:30 AM EDT
    assert check.note == (
        "1:30 AM happens twice on November 7 (the clocks go back); I took the first, EDT."
    )


def test_past_dates_and_times_are_refused_by_their_field() -> None:
    yesterday = starts.check_start(date(2026, 11, 23), 16, 0, EASTERN, NOW)
    assert (yesterday.field, yesterday.problem) == (
        "date",
        "That date has passed: pick today or a later date.",
    )
    earlier = starts.check_start(date(2026, 11, 24), 9, 0, EASTERN, NOW)
    assert (earlier.field, earlier.problem) == ("time", "That time has passed: pick a later time.")


def test_a_start_inside_the_join_window_is_allowed_and_said() -> None:
    check = starts.check_start(date(2026, 11, 24), 10, 10, EASTERN, NOW, Practice())
    assert check.start == datetime(2026, 11, 24, 15, 10, tzinfo=UTC)
    assert check.note == "The join window is already open: Enter Meeting works from now."
    later = starts.check_start(date(2026, 11, 24), 11, 0, EASTERN, NOW, Practice())
    assert later.note is None


def test_the_cli_refuses_a_skipped_wall_time_and_changes_nothing(
    parts_any: Parts, tmp_path, capsys, monkeypatch
) -> None:
    with parts_any.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, LOCAL_TEAM, "U_CLI", tz=EASTERN)
        session, _ = make_session(s, clinician.id, start_at=datetime(2027, 3, 10, 20, tzinfo=UTC))
        public_id, before = session.public_id, session.start_at
    url = parts_any.store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("SESSIONBOT_DATABASE_URL", url)
    monkeypatch.setenv("SESSIONBOT_ENCRYPTION_KEY", TEST_KEY)
    monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.chdir(tmp_path)
    code = main(["reschedule", public_id, "--to", "2027-03-14T02:30", "--user", "U_CLI"])
    assert code == 1
    assert capsys.readouterr().out.strip() == (
        "2:30 AM doesn't exist on March 14: the clocks move forward then. Nothing was changed."
    )
    with parts_any.store.unit() as s:
        row = session_rows.session_by_public_id(s, public_id)
        assert row is not None and row.start_at == before


def test_cancel_names_the_session_and_is_told_once(parts_any: Parts) -> None:
    with parts_any.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T1", "U_CANCEL", tz=EASTERN)
        session, _ = make_session(s, clinician.id, start_at=datetime(2026, 12, 1, 20, tzinfo=UTC))
        first = commands.cancel(s, clinician, session.public_id, parts_any.practice, NOW)
        second = commands.cancel(s, clinician, session.public_id, parts_any.practice, NOW)
        other = clinician_rows.get_clinician(s, "T1", "U_OTHER", tz=EASTERN)
        foreign = commands.cancel(s, other, session.public_id, parts_any.practice, NOW)
    assert first.text == (
        "Cancelled the session with J.D. on Tue, Dec 1, 2026, 3:00 PM EST. "
        "Their invitation hadn't gone out yet, so they get no notice."
    )
    # The same click again at once: answered with what was done, nothing more done.
    assert second.text == "Cancel was already done: " + first.text and not second.changed
    assert (foreign.found, foreign.changed) == (False, False)
