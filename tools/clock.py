"""The clock tool: the current time in any time zone, and calendar arithmetic on dates written as text."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tools.errors import ToolInputError

__all__ = ["ClockResult", "DateResult", "date_math", "now", "understands"]

MAX_QUERY = 200
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # not locale-dependent
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


@dataclass(frozen=True)
class ClockResult:
    """The current moment in one time zone: an aware datetime plus the zone's name, abbreviation and offset."""

    datetime: dt.datetime
    zone: str  # the IANA name ("Europe/Oslo"), "local", or a fixed offset ("UTC+05:30")
    abbreviation: str  # "CET", "EDT", ... ("UTC+05:30" for a fixed offset)
    utc_offset: str  # "+01:00"
    text: str


@dataclass(frozen=True)
class DateResult:
    """The answer to a date question; for a difference, ``date`` is the end and ``start`` the beginning."""

    query: str  # the question, normalised
    kind: Literal["date", "weekday", "difference"]
    date: dt.date
    weekday: str  # English name of ``date``'s weekday
    text: str
    start: dt.date | None = None  # difference only
    days: int | None = None  # difference only: days from ``start`` to ``date``, negative when ``date`` is earlier


def now(tz: str | None = None, *, clock: Callable[[], dt.datetime] | None = None) -> ClockResult:
    """Tell the current date and time, in local time or in a given time zone.

    tz: None (local time), an IANA time zone name such as "Europe/Oslo", "America/New_York", "Asia/Tokyo" or
    "UTC" (case does not matter), a city of such a name ("Oslo", "new york"), or a fixed offset ("UTC+05:30").
    Raises ToolInputError for an unknown time zone. ``clock`` returns the current moment (tests inject one;
    a naive datetime counts as local time).
    """
    moment = (clock or (lambda: dt.datetime.now(dt.UTC)))()
    name, zone = _zone(tz)
    local = moment.astimezone(zone)  # zone None converts to the machine's local time
    offset = _offset(local.utcoffset() or dt.timedelta(0))
    abbreviation = local.tzname() or f"UTC{offset}"
    where = "local time" if name == "local" else name
    text = f"It is {local:%H:%M} on {_human(local.date())} in {where} ({abbreviation}, UTC{offset})."
    return ClockResult(local, name, abbreviation, offset, text)


def _offset(delta: dt.timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@functools.cache
def _zones() -> dict[str, str]:
    """Every installed IANA zone by lower-case name, and by city ("new_york"), preferring regional names."""
    names = sorted(zoneinfo.available_timezones(), key=lambda name: ("/" not in name, name), reverse=True)
    by_city = {name.rsplit("/", 1)[-1].lower(): name for name in names}
    return {**by_city, **{name.lower(): name for name in names}}


def _zone(tz: str | None) -> tuple[str, dt.tzinfo | None]:
    if tz is not None and (not isinstance(tz, str) or len(tz) > 64):
        raise ToolInputError("the time zone must be a short text such as 'Europe/Oslo'")
    key = "_".join((tz or "").split()).lower()
    if key in ("", "local"):
        return "local", None
    fixed = re.fullmatch(r"(?:utc|gmt)?_?([+-])_?(\d{1,2})(?::?(\d{2}))?", key)
    if fixed and int(fixed[2]) <= 14 and int(fixed[3] or 0) < 60:
        sign = -1 if fixed[1] == "-" else 1
        delta = sign * dt.timedelta(hours=int(fixed[2]), minutes=int(fixed[3] or 0))
        name = f"UTC{_offset(delta)}"
        return name, dt.timezone(delta, name)
    if key in _zones():  # only installed names reach ZoneInfo: no paths, no null bytes
        return _zones()[key], zoneinfo.ZoneInfo(_zones()[key])
    raise ToolInputError(
        f"unknown time zone '{tz}'; use an IANA name such as 'Europe/Oslo', 'America/New_York' or 'UTC', "
        "or an offset such as 'UTC+05:30'"
    )


def date_math(query: str, *, today: dt.date | None = None) -> DateResult:
    """Answer a calendar question about dates, exactly.

    Understands: the weekday of a date ("what day of the week is 2027-03-14"), days between dates ("how many
    days until 2027-01-01", "days since 2026-01-01", "days between 2026-01-01 and 2026-03-01"), and date
    arithmetic ("30 days from today", "2 weeks after 2026-12-01", "3 months before 2026-05-31", "in 1 year and
    2 months", "10 days ago", "2026-12-01 + 3 weeks", "what is the date next friday"). Dates: YYYY-MM-DD,
    "14 March 2027", "March 14, 2027", "14 march" (its next occurrence), today, tomorrow, yesterday, weekday
    names. "next friday" is the first Friday after today, "this friday" may be today, "last friday" is before
    today. Adding months keeps the day, clamped to the month's end (2026-05-31 minus 3 months is 2026-02-28).
    Raises ToolInputError, saying what is understood, for anything else.
    """
    if not isinstance(query, str):
        raise ToolInputError("the question must be text, for example 'how many days until 2027-01-01'")
    if len(query) > MAX_QUERY:
        raise ToolInputError(f"the question is too long ({len(query)} characters; the limit is {MAX_QUERY})")
    day = today or dt.date.today()
    text = " ".join(query.lower().replace("’", "'").split()).strip(" ?.!")
    text = re.sub(r"^(?:please|tell me|calculate|compute)\b\s*", "", text)
    if not text:
        raise ToolInputError("the question is empty; ask for example 'how many days until 2027-01-01'")
    try:
        if match := _WEEKDAY.fullmatch(text):
            target = _parse(match["d"] or match["d2"] or "today", day)
            sentence = f"{target.day} {MONTHS[target.month - 1]} {target.year} is a {WEEKDAYS[target.weekday()]}."
            return DateResult(text, "weekday", target, WEEKDAYS[target.weekday()], sentence)
        if match := _UNTIL.fullmatch(text) or _SINCE.fullmatch(text) or _BETWEEN.fullmatch(text):
            start = _parse(match["a"], day) if match["a"] else day
            end = _parse(match["b"], day) if match["b"] else day
            return _difference(text, start, end)
        asked = _DATE_PREFIX.sub("", text).strip() or "today"
        target = _parse(asked, day)
        return DateResult(text, "date", target, WEEKDAYS[target.weekday()], f"{asked} is {_human(target)}.")
    except (OverflowError, ValueError):
        raise ToolInputError(f"the date in '{query}' is out of range (years 1 to 9999)") from None


def understands(query: str) -> bool:
    """Whether ``date_math`` answers the query as a calendar question (for routing a request; never raises).

    A weekday or a count of days always is; a date only when the query asks for one by name ("what is the date next
    friday") or moves by a duration ("10 days ago", "2026-12-01 + 3 weeks") or is written as a date, so that
    "what's on tomorrow" (a question about the user's own calendar) is not.
    """
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        return False
    try:
        result = date_math(query)
    except ToolInputError:
        return False
    return result.kind != "date" or bool(_ASKS_DATE.search(result.query))


_WEEKDAY = re.compile(
    r"(?:what|which) (?:day of the week|weekday|day) (?:is it on|was it on|is it|falls on|will be|is|was)"
    r"(?: (?P<d>.+?))?(?: today)?|(?:day of (?:the )?week|weekday) (?:of|for|on) (?P<d2>.+)"
)
_UNTIL = re.compile(
    r"(?:how (?:many days|many weeks|long)(?: are there| is it| left| remain)?|(?:days|weeks)(?: left| remaining)?)"
    r" (?:until|till|til|to|before) (?P<b>.+)(?P<a>)"
)
_SINCE = re.compile(r"(?:how (?:many days|long)(?: has it been| is it)?|days) since (?P<a>.+)(?P<b>)")
_BETWEEN = re.compile(
    r"(?:how many )?days(?: are there)? (?:between|from) (?P<a>.+?) (?:and|to|until|till) (?P<b>.+)"
)
_DATE_PREFIX = re.compile(
    r"^(?:(?:what|when|which)(?:'s| is| was| will be)?(?: the)?(?: date| day)?(?: is it| will it be| was it| is| was)?"
    r"|(?:the )?date)(?: on| of)?\b\s*"
)


def _difference(text: str, start: dt.date, end: dt.date) -> DateResult:
    days = (end - start).days
    weeks, rest = divmod(abs(days), 7)
    detail = f" ({_count(weeks, 'week')} and {_count(rest, 'day')})" if weeks and rest else ""
    detail = f" ({_count(weeks, 'week')})" if weeks and not rest else detail
    sentence = f"From {_human(start)} to {_human(end)} is {_count(days, 'day')}{detail}."
    if days < 0:
        sentence = f"{_human(end)} is {_count(-days, 'day')}{detail} before {_human(start)}."
    return DateResult(text, "difference", end, WEEKDAYS[end.weekday()], sentence, start, days)


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if abs(number) == 1 else f"{number} {unit}s"


def _human(day: dt.date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year} ({day.isoformat()})"


_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
            "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
            "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_AMOUNT = rf"(?:\d{{1,7}}|{'|'.join(sorted(_NUMBERS, key=len, reverse=True))})"
_UNIT = r"(?:day|week|fortnight|month|year)s?"
_DURATION = rf"{_AMOUNT} {_UNIT}(?:(?:,? and |, | ){_AMOUNT} {_UNIT})*"
_BACKWARDS = ("before", "prior to", "earlier than", "-", "minus")
_BEFORE = "|".join(_BACKWARDS[:3])
_SHIFTS = [  # (pattern, direction): 0 moves from a base date, 1 and -1 from today
    (re.compile(rf"(?P<dur>{_DURATION}) (?P<dir>from|after|since|later than|{_BEFORE}) (?P<base>.+)"), 0),
    (re.compile(rf"(?P<base>.+?) ?(?P<dir>\+|-|plus|minus) ?(?P<dur>{_DURATION})"), 0),
    (re.compile(rf"(?:in )?(?P<dur>{_DURATION})(?: from now| later| hence)?"), 1),
    (re.compile(rf"(?P<dur>{_DURATION}) (?:ago|earlier|back)"), -1),
]
_ASKS_DATE = re.compile(rf"\b(?:date|day|weekday)\b|\d{{4}}[-/.]\d|\d[/.]\d{{1,2}}[/.]\d{{4}}|{_DURATION}")
_MONTH = rf"(?P<month>{'|'.join(name.lower() for name in MONTHS)}|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
_ABBREVIATIONS = [name[:3].lower() for name in WEEKDAYS]
_WEEKDAY_NAMES = rf"({'|'.join(name.lower() for name in WEEKDAYS)}|tues|thurs|thur|{'|'.join(_ABBREVIATIONS)})"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_NAMED = [
    re.compile(rf"{_DAY}(?: of)? {_MONTH}(?:,? (?P<year>\d{{4}}))?"),
    re.compile(rf"{_MONTH} {_DAY}(?:,? (?P<year>\d{{4}}))?"),
]
_RELATIVE = {"today": 0, "now": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1, "the day after tomorrow": 2,
             "day after tomorrow": 2, "the day before yesterday": -2, "day before yesterday": -2}


def _parse(text: str, today: dt.date, depth: int = 0) -> dt.date:
    """Read one date expression: a date, or a date shifted by days, weeks, months and years."""
    text = text.strip(" ,")
    if depth > 5:
        raise ToolInputError("the date expression is nested too deeply")
    if text in _RELATIVE:
        return today + dt.timedelta(days=_RELATIVE[text])
    for pattern, direction in _SHIFTS:
        if match := pattern.fullmatch(text):
            base = _parse(match["base"], today, depth + 1) if direction == 0 else today
            backwards = direction < 0 or (direction == 0 and match["dir"] in _BACKWARDS)
            return _shift(base, match["dur"], -1 if backwards else 1)
    if match := re.fullmatch(rf"(?:(next|this|coming|last|previous|past) )?{_WEEKDAY_NAMES}", text):
        ahead = (_ABBREVIATIONS.index(match[2][:3]) - today.weekday()) % 7
        if match[1] in ("last", "previous", "past"):
            return today - dt.timedelta(days=(7 - ahead) if ahead else 7)
        return today + dt.timedelta(days=ahead or (7 if match[1] in ("next", "coming") else 0))
    if match := re.fullmatch(r"(next|last) (week|month|year)", text):
        return _shift(today, f"1 {match[2]}", 1 if match[1] == "next" else -1)
    if match := re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text):
        return _date(int(match[1]), int(match[2]), int(match[3]), text)
    if match := re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text):
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        if first <= 12 and second <= 12 and first != second:
            raise ToolInputError(f"'{text}' is ambiguous (day/month or month/day?); write it as YYYY-MM-DD")
        return _date(year, second, first, text) if first > 12 else _date(year, first, second, text)
    for pattern in _NAMED:
        if match := pattern.fullmatch(text):
            month = [name[:3].lower() for name in MONTHS].index(match["month"][:3]) + 1
            if match["year"]:
                return _date(int(match["year"]), month, int(match["day"]), text)
            number = int(match["day"])
            for year in range(today.year, min(today.year + 9, 10000)):  # the next occurrence, on or after today
                if 1 <= number <= calendar.monthrange(year, month)[1] and dt.date(year, month, number) >= today:
                    return dt.date(year, month, number)
            return _date(today.year, month, number, text)
    raise ToolInputError(
        f"cannot read the date '{text}'; write YYYY-MM-DD, '14 March 2027', today, tomorrow, 'next friday' "
        "or '30 days from today'"
    )


def _date(year: int, month: int, day: int, text: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ToolInputError(f"'{text}' is not a valid date") from None


def _shift(day: dt.date, duration: str, sign: int) -> dt.date:
    """Move ``day`` by a duration: years and months first (clamped to the month's end), then weeks and days."""
    months = days = 0
    for amount, unit in re.findall(rf"({_AMOUNT}) ({_UNIT})", duration):
        count = _NUMBERS.get(amount) or int(amount)
        unit = unit.rstrip("s")
        months += count * {"year": 12, "month": 1}.get(unit, 0)
        days += count * {"day": 1, "week": 7, "fortnight": 14}.get(unit, 0)
    year, month = divmod(day.year * 12 + day.month - 1 + sign * months, 12)
    if not 1 <= year <= 9999:
        raise OverflowError
    moved = dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
    return moved + dt.timedelta(days=sign * days)
