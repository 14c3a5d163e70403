"""Wall-clock time in the clinic's zone.

The database holds UTC; the clinic thinks in local time ("lunchtime is 12:00-14:00"). These
helpers turn a local date and time into an instant, and say so explicitly when the local
time does not exist (clocks go forward) or happens twice (clocks go back), instead of
letting Python silently pick an offset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone


class NonexistentLocalTime(ValueError):
    """The local time falls in the hour skipped when the clocks go forward."""


class AmbiguousLocalTime(ValueError):
    """The local time happens twice when the clocks go back."""


def clinic_zone() -> ZoneInfo:
    return timezone.get_default_timezone()


def is_nonexistent(day: date, at: time, zone: ZoneInfo | None = None) -> bool:
    zone = zone or clinic_zone()
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive


def is_ambiguous(day: date, at: time, zone: ZoneInfo | None = None) -> bool:
    zone = zone or clinic_zone()
    if is_nonexistent(day, at, zone):
        return False
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=zone, fold=0).utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset()


def local_datetime(day: date, at: time, *, fold: int | None = None, zone: ZoneInfo | None = None) -> datetime:
    """The instant (in UTC) of ``at`` on ``day`` in the clinic's zone.

    Raises NonexistentLocalTime in a spring-forward gap. For a fall-back time that happens
    twice, ``fold`` says which (0 the first, 1 the second); without it AmbiguousLocalTime.
    """
    zone = zone or clinic_zone()
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
    return datetime.combine(day, at).replace(tzinfo=zone, fold=fold or 0).astimezone(UTC)


def local_instants(day: date, at: time, zone: ZoneInfo | None = None) -> list[datetime]:
    """Every instant at which the clock shows ``at`` on ``day``: none, one, or two."""
    zone = zone or clinic_zone()
    if is_nonexistent(day, at, zone):
        return []
    if is_ambiguous(day, at, zone):
        return [local_datetime(day, at, fold=0, zone=zone), local_datetime(day, at, fold=1, zone=zone)]
    return [local_datetime(day, at, fold=0, zone=zone)]


def day_bounds(day: date, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """The first instant of ``day`` and of the next day (a local day may last 23 or 25 hours)."""
    zone = zone or clinic_zone()
    start = datetime.combine(day, time.min).replace(tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min).replace(tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def localtime(value: datetime) -> datetime:
    return value.astimezone(clinic_zone())


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
