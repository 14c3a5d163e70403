"""Wall-clock time in the clinic's zone (``CLINIC_TIME_ZONE``, Django's default time zone).

The database holds UTC; the clinic thinks in local time ("lunchtime is 12:00-14:00"). These
helpers turn a local date and time into an instant, and say so explicitly when the local
time does not exist (clocks go forward) or happens twice (clocks go back), instead of
letting Python silently pick an offset. The other way round, an instant's local time, is
``django.utils.timezone.localtime`` (no other zone is ever activated).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

# Python's datetimes end at years 1 and 9999. The forms keep people's dates far inside
# (clinic/dates.py), but a day at an end of that range must not raise OverflowError here: its
# instants stop at the first or last instant Python has, so a query "from" or "until" it
# still means everything before or after.
FIRST_INSTANT = datetime.min.replace(tzinfo=UTC)
LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


def _to_utc(local: datetime) -> datetime:
    try:
        return local.astimezone(UTC)
    except OverflowError:
        return FIRST_INSTANT if local.year == 1 else LAST_INSTANT


class NonexistentLocalTime(ValueError):
    """The local time falls in the hour skipped when the clocks go forward."""


class AmbiguousLocalTime(ValueError):
    """The local time happens twice when the clocks go back."""


def is_nonexistent(day: date, at: time, zone: ZoneInfo | None = None) -> bool:
    zone = zone or timezone.get_default_timezone()
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone)
    try:
        return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive
    except OverflowError:  # at an end of Python's dates, where no clock changes
        return False


def is_ambiguous(day: date, at: time, zone: ZoneInfo | None = None) -> bool:
    zone = zone or timezone.get_default_timezone()
    if is_nonexistent(day, at, zone):
        return False
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=zone, fold=0).utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset()


def local_datetime(day: date, at: time, *, fold: int | None = None, zone: ZoneInfo | None = None) -> datetime:
    """The instant (in UTC) of ``at`` on ``day`` in the clinic's zone.

    Raises NonexistentLocalTime in a spring-forward gap. For a fall-back time that happens
    twice, ``fold`` says which (0 the first, 1 the second); without it AmbiguousLocalTime.
    """
    zone = zone or timezone.get_default_timezone()
    if is_nonexistent(day, at, zone):
        raise NonexistentLocalTime(
            f"{at:%H:%M} does not exist on {day:%d %b %Y}: the clocks go forward then. Choose another time."
        )
    if is_ambiguous(day, at, zone) and fold is None:
        raise AmbiguousLocalTime(
            f"{at:%H:%M} happens twice on {day:%d %b %Y} because the clocks go back. Choose the slot "
            "from the slot finder, which lists both."
        )
    # Returned in UTC: adding a duration to a zoned datetime in Python adds wall-clock time,
    # which is wrong across a change of offset.
    return _to_utc(datetime.combine(day, at).replace(tzinfo=zone, fold=fold or 0))


def clock_reaches(day: date, at: time, zone: ZoneInfo | None = None) -> datetime:
    """The first instant (in UTC) at which the clinic's clock shows ``at`` or later on ``day``.

    For things the clinic does at a set hour, not times a person picked (an email at 18:00,
    a generated appointment): they must happen whatever the clocks do, so nothing is refused.
    A time that happens twice (clocks go back) is taken the first time. A time the clocks skip
    (clocks go forward) is the moment they jump past it: 01:30 on a day when 01:00 becomes
    02:00 is 02:00, the earliest the clock has reached 01:30 - not 02:30, and not the hour
    before, when 01:30 was still to come.
    """
    zone = zone or timezone.get_default_timezone()
    try:
        return local_datetime(day, at, fold=0, zone=zone)
    except NonexistentLocalTime:
        pass
    naive = datetime.combine(day, at)
    # Read with the offset after the jump, ``at`` is an instant before it; with the offset
    # before, one after it. The jump lies between: find it to the second.
    before = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    after = int(naive.replace(tzinfo=zone, fold=0).timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= naive:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def local_instants(day: date, at: time, zone: ZoneInfo | None = None) -> list[datetime]:
    """Every instant at which the clock shows ``at`` on ``day``: none, one, or two."""
    zone = zone or timezone.get_default_timezone()
    if is_nonexistent(day, at, zone):
        return []
    if is_ambiguous(day, at, zone):
        return [local_datetime(day, at, fold=0, zone=zone), local_datetime(day, at, fold=1, zone=zone)]
    return [local_datetime(day, at, fold=0, zone=zone)]


def day_bounds(day: date, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """The first instant of ``day`` and of the next day (a local day may last 23 or 25 hours)."""
    if day == date.max:
        return clock_reaches(day, time.min, zone), LAST_INSTANT
    return clock_reaches(day, time.min, zone), clock_reaches(day + timedelta(days=1), time.min, zone)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
