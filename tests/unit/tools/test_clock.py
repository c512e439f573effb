from __future__ import annotations

import datetime as dt

import pytest

from tools.clock import ClockResult, DateResult, date_math, now, understands
from tools.errors import ToolInputError

TODAY = dt.date(2026, 8, 31)  # a Monday
BEFORE_DST = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)  # Europe switches to summer time at 01:00 UTC


def fixed(moment: dt.datetime = BEFORE_DST) -> dt.datetime:
    return moment


@pytest.mark.parametrize(
    ("tz", "zone", "wall", "abbreviation", "offset"),
    [
        ("Europe/Oslo", "Europe/Oslo", "2026-03-29T01:30:00+01:00", "CET", "+01:00"),
        ("europe/oslo", "Europe/Oslo", "2026-03-29T01:30:00+01:00", "CET", "+01:00"),
        ("Oslo", "Europe/Oslo", "2026-03-29T01:30:00+01:00", "CET", "+01:00"),
        (" new york ", "America/New_York", "2026-03-28T20:30:00-04:00", "EDT", "-04:00"),
        ("Asia/Kolkata", "Asia/Kolkata", "2026-03-29T06:00:00+05:30", "IST", "+05:30"),
        ("UTC", "UTC", "2026-03-29T00:30:00+00:00", "UTC", "+00:00"),
        ("utc", "UTC", "2026-03-29T00:30:00+00:00", "UTC", "+00:00"),
        ("UTC+05:30", "UTC+05:30", "2026-03-29T06:00:00+05:30", "UTC+05:30", "+05:30"),
        ("GMT-3", "UTC-03:00", "2026-03-28T21:30:00-03:00", "UTC-03:00", "-03:00"),
        ("+14", "UTC+14:00", "2026-03-29T14:30:00+14:00", "UTC+14:00", "+14:00"),
    ],
)
def test_now_in_a_time_zone(tz: str, zone: str, wall: str, abbreviation: str, offset: str) -> None:
    result = now(tz, clock=fixed)
    assert (result.zone, result.datetime.isoformat(), result.abbreviation, result.utc_offset) == (
        zone,
        wall,
        abbreviation,
        offset,
    )


def test_now_text_and_daylight_saving_switch() -> None:
    winter = now("Europe/Oslo", clock=fixed)
    assert winter.text == "It is 01:30 on Sunday 29 March 2026 (2026-03-29) in Europe/Oslo (CET, UTC+01:00)."
    summer = now("Europe/Oslo", clock=lambda: BEFORE_DST + dt.timedelta(hours=1))
    assert summer.text == "It is 03:30 on Sunday 29 March 2026 (2026-03-29) in Europe/Oslo (CEST, UTC+02:00)."
    assert summer == ClockResult(summer.datetime, "Europe/Oslo", "CEST", "+02:00", summer.text)


@pytest.mark.parametrize("tz", [None, "", "local", "Local"])
def test_now_defaults_to_local_time(tz: str | None) -> None:
    result = now(tz, clock=fixed)
    assert result.zone == "local"
    assert result.datetime == BEFORE_DST  # the same instant, in the machine's zone
    assert result.datetime.tzinfo is not None
    assert result.text.startswith("It is ") and "in local time" in result.text


def test_naive_clock_counts_as_local_time() -> None:
    naive = dt.datetime(2026, 6, 1, 12, 0)
    assert now(clock=lambda: naive).datetime == naive.astimezone()


def test_now_without_a_clock_is_the_real_time() -> None:
    before = dt.datetime.now(dt.UTC)
    result = now("UTC")
    assert before <= result.datetime <= dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(
    "tz", ["Mars/Base", "Europe", "../etc/passwd", "/etc/localtime", "Europe/Oslo\x00", "GMT+15", "UTC+02:75", "x" * 65]
)
def test_unknown_time_zones_are_refused(tz: str) -> None:
    with pytest.raises(ToolInputError, match="time zone"):
        now(tz, clock=fixed)


@pytest.mark.parametrize(
    ("query", "kind", "day", "weekday", "text"),
    [
        ("what day of the week is 2027-03-14", "weekday", "2027-03-14", "Sunday", "14 March 2027 is a Sunday."),
        ("What day was March 14th, 2027?", "weekday", "2027-03-14", "Sunday", "14 March 2027 is a Sunday."),
        ("which weekday is 14 mar 2027", "weekday", "2027-03-14", "Sunday", "14 March 2027 is a Sunday."),
        ("day of the week for 1970-01-01", "weekday", "1970-01-01", "Thursday", "1 January 1970 is a Thursday."),
        ("what day is it", "weekday", "2026-08-31", "Monday", "31 August 2026 is a Monday."),
        ("what day is it today?", "weekday", "2026-08-31", "Monday", "31 August 2026 is a Monday."),
        ("what day is 14/03/2027", "weekday", "2027-03-14", "Sunday", "14 March 2027 is a Sunday."),
        ("what day is 03/14/2027", "weekday", "2027-03-14", "Sunday", "14 March 2027 is a Sunday."),
        ("30 days from today", "date", "2026-09-30", "Wednesday",
         "30 days from today is Wednesday 30 September 2026 (2026-09-30)."),
        ("2 weeks after 2026-12-01", "date", "2026-12-15", "Tuesday",
         "2 weeks after 2026-12-01 is Tuesday 15 December 2026 (2026-12-15)."),
        ("3 months before 2026-05-31", "date", "2026-02-28", "Saturday",
         "3 months before 2026-05-31 is Saturday 28 February 2026 (2026-02-28)."),
        ("what is the date next friday", "date", "2026-09-04", "Friday",
         "next friday is Friday 4 September 2026 (2026-09-04)."),
        ("what's the date today?", "date", "2026-08-31", "Monday", "today is Monday 31 August 2026 (2026-08-31)."),
        ("what date is it", "date", "2026-08-31", "Monday", "today is Monday 31 August 2026 (2026-08-31)."),
    ],
)
def test_date_questions(query: str, kind: str, day: str, weekday: str, text: str) -> None:
    result = date_math(query, today=TODAY)
    assert (result.kind, result.date.isoformat(), result.weekday, result.text) == (kind, day, weekday, text)
    assert (result.start, result.days) == (None, None)


@pytest.mark.parametrize(
    ("query", "day"),
    [
        ("today", "2026-08-31"),
        ("tomorrow", "2026-09-01"),
        ("yesterday", "2026-08-30"),
        ("the day after tomorrow", "2026-09-02"),
        ("monday", "2026-08-31"),  # a bare weekday may be today
        ("this monday", "2026-08-31"),
        ("next monday", "2026-09-07"),  # "next" is always after today
        ("last monday", "2026-08-24"),
        ("next sunday", "2026-09-06"),
        ("last sunday", "2026-08-30"),
        ("next fri", "2026-09-04"),
        ("last thursday", "2026-08-27"),
        ("in 2 weeks", "2026-09-14"),
        ("a fortnight from tomorrow", "2026-09-15"),
        ("10 days ago", "2026-08-21"),
        ("two months ago", "2026-06-30"),
        ("1 year and 2 months from today", "2027-10-31"),
        ("1 year, 1 month and 1 day after 2026-01-31", "2027-03-01"),
        ("2026-12-01 + 3 weeks", "2026-12-22"),
        ("2026-03-31 - 1 month", "2026-02-28"),
        ("2026-03-31 minus 1 month", "2026-02-28"),
        ("1 month after 2026-01-31", "2026-02-28"),
        ("1 month after 2028-01-31", "2028-02-29"),
        ("12 months after 2028-02-29", "2029-02-28"),
        ("2 days before the day after tomorrow", "2026-08-31"),
        ("3 days after next friday", "2026-09-07"),
        ("next month", "2026-09-30"),
        ("last year", "2025-08-31"),
        ("when is 1 jan", "2027-01-01"),  # the next occurrence
        ("date of 31 august", "2026-08-31"),  # today counts
        ("29 feb", "2028-02-29"),
        ("what date will it be in 2 weeks", "2026-09-14"),
        ("2027/3/14", "2027-03-14"),
        ("14.03.2027", "2027-03-14"),
        ("december 25, 2026", "2026-12-25"),
        ("25th of december 2026", "2026-12-25"),
        ("9999-12-30 + 1 day", "9999-12-31"),
    ],
)
def test_date_expressions(query: str, day: str) -> None:
    assert date_math(query, today=TODAY).date == dt.date.fromisoformat(day)


@pytest.mark.parametrize(
    ("query", "start", "end", "days", "text"),
    [
        ("how many days until 2027-01-01", "2026-08-31", "2027-01-01", 123,
         "From Monday 31 August 2026 (2026-08-31) to Friday 1 January 2027 (2027-01-01) is 123 days "
         "(17 weeks and 4 days)."),
        ("days between 2026-01-01 and 2026-03-01", "2026-01-01", "2026-03-01", 59,
         "From Thursday 1 January 2026 (2026-01-01) to Sunday 1 March 2026 (2026-03-01) is 59 days "
         "(8 weeks and 3 days)."),
        ("how many days from 2026-03-01 to 2026-01-01", "2026-03-01", "2026-01-01", -59,
         "Thursday 1 January 2026 (2026-01-01) is 59 days (8 weeks and 3 days) before "
         "Sunday 1 March 2026 (2026-03-01)."),
        ("how long until 2026-09-07", "2026-08-31", "2026-09-07", 7,
         "From Monday 31 August 2026 (2026-08-31) to Monday 7 September 2026 (2026-09-07) is 7 days (1 week)."),
        ("days until tomorrow", "2026-08-31", "2026-09-01", 1,
         "From Monday 31 August 2026 (2026-08-31) to Tuesday 1 September 2026 (2026-09-01) is 1 day."),
        ("days until today", "2026-08-31", "2026-08-31", 0,
         "From Monday 31 August 2026 (2026-08-31) to Monday 31 August 2026 (2026-08-31) is 0 days."),
    ],
)
def test_differences(query: str, start: str, end: str, days: int, text: str) -> None:
    result = date_math(query, today=TODAY)
    expected = DateResult(
        result.query, "difference", dt.date.fromisoformat(end), result.weekday, text, dt.date.fromisoformat(start), days
    )
    assert result == expected


@pytest.mark.parametrize(
    ("query", "days"),
    [
        ("how many days since 2026-01-01", 242),
        ("days since yesterday", 1),
        ("how many weeks until 2026-09-14", 14),
        ("days until 25 december", 116),
        ("days from 2024-01-01 to 2025-01-01", 366),
        ("how many days are there between 2000-01-01 and 2100-01-01", 36525),
    ],
)
def test_difference_days(query: str, days: int) -> None:
    assert date_math(query, today=TODAY).days == days


def test_today_defaults_to_the_real_date() -> None:
    assert date_math("today").date == dt.date.today()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("what day is 2027-02-30", "'2027-02-30' is not a valid date"),
        ("what day is 03/04/2027", "'03/04/2027' is ambiguous"),
        ("how many days until christmas", "cannot read the date 'christmas'; write YYYY-MM-DD"),
        ("hello", "cannot read the date 'hello'"),
        ("", "the question is empty"),
        (" ? ", "the question is empty"),
        ("__import__('os')", "cannot read the date"),
        ("31 february", "'31 february' is not a valid date"),
        ("0 march", "'0 march' is not a valid date"),
        ("what day is march 32, 2027", "'march 32, 2027' is not a valid date"),
        ("9999999 days from today", "out of range (years 1 to 9999)"),
        ("10000 years from today", "out of range"),
        ("0001-01-01 - 1 day", "out of range"),
        ("1 day after " * 8 + "today", "nested too deeply"),
        ("x" * 201, "too long (201 characters; the limit is 200)"),
    ],
)
def test_refusals(query: str, message: str) -> None:
    with pytest.raises(ToolInputError) as caught:
        date_math(query, today=TODAY)
    assert message in str(caught.value)


def test_non_text_question_is_refused() -> None:
    with pytest.raises(ToolInputError, match="must be text"):
        date_math(None, today=TODAY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "day"),
    [
        ("in twenty days", "2026-09-20"),
        ("fifteen days from today", "2026-09-15"),
        ("ninety days ago", "2026-06-02"),
        ("thirty weeks after 2026-01-01", "2026-07-30"),
    ],
)
def test_durations_in_words(query: str, day: str) -> None:
    assert date_math(query, today=TODAY).date.isoformat() == day


@pytest.mark.parametrize(
    ("query", "reads"),
    [
        ("how many days until 25 December", True),
        ("days between 2026-01-01 and 2026-03-01", True),
        ("what day of the week is 14 March 2027", True),
        ("what is the date next friday", True),
        ("what is 2026-12-01 + 3 weeks", True),
        ("what is 2024-03-01", True),
        ("10 days ago", True),
        ("in twenty days", True),
        ("what's on tomorrow", False),  # the user's own calendar, not a date question
        ("what was last week", False),
        ("what is next week", False),
        ("tomorrow", False),
        ("what is the date of the invoice", False),
        ("what date is the meeting", False),
        ("how many days until the holiday", False),
        ("what is 17 times 23", False),
        ("what is the port of the Aurora service", False),
        ("", False),
        ("10 days ago " * 30, False),
        ("\ud800 days ago", False),
    ],
)
def test_understands_only_calendar_questions(query: str, reads: bool) -> None:
    assert understands(query) is reads


@pytest.mark.parametrize("hostile", [None, 42, b"10 days ago"])
def test_understands_never_raises(hostile: object) -> None:
    assert understands(hostile) is False  # type: ignore[arg-type]
