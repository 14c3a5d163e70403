"""The clinic's wall-clock helpers across both daylight-saving changes (Europe/London: clocks
forward at 01:00 GMT on 31 March 2030, back at 02:00 BST on 27 October 2030)."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from clinic.localtime import AmbiguousLocalTime, NonexistentLocalTime, clock_reaches, day_bounds, local_datetime

UTC = datetime.UTC
SPRING_SUNDAY = datetime.date(2030, 3, 31)
AUTUMN_SUNDAY = datetime.date(2030, 10, 27)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2030, month, day, hour, minute, tzinfo=UTC)


def test_clock_reaches_an_ordinary_time_at_that_time():
    assert clock_reaches(datetime.date(2030, 7, 1), datetime.time(18, 0)) == utc(7, 1, 17)  # 18:00 BST
    assert clock_reaches(datetime.date(2030, 1, 7), datetime.time(18, 0)) == utc(1, 7, 18)  # 18:00 GMT


def test_clock_reaches_a_skipped_time_when_the_clocks_jump_past_it():
    with pytest.raises(NonexistentLocalTime):
        local_datetime(SPRING_SUNDAY, datetime.time(1, 30))
    # 01:00 GMT becomes 02:00 BST: 01:30 is first passed at the jump, not an hour later (02:30).
    assert clock_reaches(SPRING_SUNDAY, datetime.time(1, 30)) == utc(3, 31, 1)
    assert clock_reaches(SPRING_SUNDAY, datetime.time(1, 0)) == utc(3, 31, 1)
    assert clock_reaches(SPRING_SUNDAY, datetime.time(2, 0)) == utc(3, 31, 1)
    assert clock_reaches(SPRING_SUNDAY, datetime.time(0, 59)) == utc(3, 31, 0, 59)


def test_clock_reaches_a_repeated_time_the_first_time():
    with pytest.raises(AmbiguousLocalTime):
        local_datetime(AUTUMN_SUNDAY, datetime.time(1, 30))
    assert clock_reaches(AUTUMN_SUNDAY, datetime.time(1, 30)) == utc(10, 27, 0, 30)  # 01:30 BST, not GMT


def test_clock_reaches_a_skipped_time_in_a_zone_whose_clocks_move_half_an_hour():
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # 02:00 becomes 02:30 on 6 October 2030
    reached = clock_reaches(datetime.date(2030, 10, 6), datetime.time(2, 10), lord_howe)
    assert reached.astimezone(lord_howe).strftime("%d %b %H:%M") == "06 Oct 02:30"
    assert clock_reaches(datetime.date(2030, 10, 6), datetime.time(2, 30), lord_howe) == reached


def test_a_local_day_lasts_23_or_25_hours_across_the_changes():
    start, end = day_bounds(SPRING_SUNDAY)
    assert (start, end) == (utc(3, 31, 0), utc(3, 31, 23))
    start, end = day_bounds(AUTUMN_SUNDAY)
    assert (start, end) == (utc(10, 26, 23), utc(10, 28, 0))


def test_a_day_whose_midnight_is_skipped_starts_when_the_clocks_jump():
    santiago = ZoneInfo("America/Santiago")  # 00:00 became 01:00 on 11 September 2022
    start, end = day_bounds(datetime.date(2022, 9, 11), santiago)
    assert start == datetime.datetime(2022, 9, 11, 4, 0, tzinfo=UTC)  # 01:00 -03, the first instant of the day
    assert start.astimezone(santiago).date() == datetime.date(2022, 9, 11)
    assert (start - datetime.timedelta(seconds=1)).astimezone(santiago).date() == datetime.date(2022, 9, 10)
    assert end - start == datetime.timedelta(hours=23)
