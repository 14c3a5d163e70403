"""The figures of the reports: each is one SQL statement (an aggregate, grouped in the
database), whatever the size of the clinic; Python only shapes the few grouped rows.

Periods are whole local days, ``date_from`` to ``date_to`` inclusive, in the clinic's zone;
weekdays, hours, weeks and the lunchtime window are read on the local clock
(``AT TIME ZONE``), so 12:00-14:00 stays 12:00-14:00 across daylight-saving changes.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from clinic.localtime import day_bounds

# A maintenance recall counts as converted when the patient books within this many days of
# the due date.
RECALL_CONVERSION_DAYS = 60
# Appointments whose outcome is known: the patient came (arrived, completed) or did not.
ATTENDED_OR_MISSED = ("arrived", "completed", "no_show")


@dataclass(frozen=True)
class Period:
    date_from: date
    date_to: date

    @property
    def bounds(self):
        return day_bounds(self.date_from)[0], day_bounds(self.date_to)[1]

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1


@contextmanager
def without_jit():
    """Run the reports inside with PostgreSQL's JIT compiler off (for this transaction only):
    the planner's guesses for a series of days are large enough to switch it on, and compiling
    costs more (some 80 ms) than these aggregates take to run. One statement per page."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _params(period: Period, **extra) -> dict:
    start, end = period.bounds
    return {"tz": settings.TIME_ZONE, "start": start, "end": end, **extra}


def lunchtime() -> tuple[time, time]:
    return settings.CLINIC_LUNCH_START, settings.CLINIC_LUNCH_END


def no_shows_by_weekday_hour(period: Period) -> list[tuple[int, int, int, int]]:
    """(ISO weekday 1-7, local hour, appointments with a known outcome, no-shows)."""
    return _rows(
        """
        SELECT extract(isodow FROM local_start)::int AS weekday,
               extract(hour FROM local_start)::int AS hour,
               count(*) AS appointments,
               count(*) FILTER (WHERE status = 'no_show') AS no_shows
          FROM (
                SELECT starts_at AT TIME ZONE %(tz)s AS local_start, status  -- the zone looked up once a row
                  FROM scheduling_appointment
                 WHERE starts_at >= %(start)s AND starts_at < %(end)s AND status = ANY(%(statuses)s)
                OFFSET 0
          ) appointment
         GROUP BY 1, 2
         ORDER BY 1, 2
        """,
        _params(period, statuses=list(ATTENDED_OR_MISSED)),
    )


def lunchtime_utilisation(period: Period) -> list[tuple[int, str, int, int]]:
    """(practitioner id, name, booked lunchtime minutes, working lunchtime minutes).

    Booked: the part of each appointment that is not cancelled (no-shows included: the time
    was booked) inside the lunchtime window of its local day. Working: for each day of the
    period, the overlap of the practitioner's working hours of that weekday with the window.
    Time off and clinic closures are not taken out of the working minutes."""
    lunch_start, lunch_end = lunchtime()
    return _rows(
        """
        WITH working AS (
            SELECT wh.practitioner_id,
                   sum(greatest(0, extract(epoch FROM
                       least(wh.ends_at, %(lunch_end)s::time) - greatest(wh.starts_at, %(lunch_start)s::time)) / 60)
                   )::int AS minutes
              FROM generate_series(%(date_from)s::date, %(date_to)s::date, interval '1 day') AS day
              JOIN scheduling_workinghours wh ON wh.weekday = extract(isodow FROM day)::int - 1
             WHERE wh.starts_at < %(lunch_end)s::time AND wh.ends_at > %(lunch_start)s::time
             GROUP BY wh.practitioner_id
        ), days AS MATERIALIZED (
            -- Each local day of the period, its bounds and its lunchtime window as instants: the
            -- zone is looked up a few times a day, never once per appointment (the costly part).
            SELECT (day::date::timestamp AT TIME ZONE %(tz)s) AS starts,
                   ((day::date + 1)::timestamp AT TIME ZONE %(tz)s) AS ends,
                   ((day::date + %(lunch_start)s::time) AT TIME ZONE %(tz)s) AS lunch_starts,
                   ((day::date + %(lunch_end)s::time) AT TIME ZONE %(tz)s) AS lunch_ends
              FROM generate_series(%(date_from)s::date, %(date_to)s::date, interval '1 day') AS day
        ), booked AS (
            SELECT a.practitioner_id,
                   sum(greatest(0, extract(epoch FROM
                       least(a.ends_at, days.lunch_ends) - greatest(a.starts_at, days.lunch_starts)) / 60)
                   )::int AS minutes
              FROM days
              JOIN scheduling_appointment a ON a.starts_at >= days.starts AND a.starts_at < days.ends
             WHERE a.status <> 'cancelled'
             GROUP BY a.practitioner_id
        )
        SELECT p.id,
               coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username) AS name,
               coalesce(booked.minutes, 0), coalesce(working.minutes, 0)
          FROM scheduling_practitioner p
          JOIN auth_user u ON u.id = p.user_id
          LEFT JOIN working ON working.practitioner_id = p.id
          LEFT JOIN booked ON booked.practitioner_id = p.id
         WHERE working.minutes > 0 OR booked.minutes > 0
         ORDER BY name, p.id
        """,
        _params(
            period,
            lunch_start=lunch_start,
            lunch_end=lunch_end,
            date_from=period.date_from,
            date_to=period.date_to,
        ),
    )


def course_outcomes(period: Period) -> list[tuple[str, int, int]]:
    """(plan status, signed sessions, plans) for the courses started in the period."""
    return _rows(
        """
        SELECT p.status, signed.sessions, count(*)
          FROM treatments_treatmentplan p
          CROSS JOIN LATERAL (
                SELECT count(*)::int AS sessions FROM treatments_treatmentsession s
                 WHERE s.plan_id = p.id AND s.status = 'signed'
          ) signed
         WHERE p.activated_at >= %(start)s AND p.activated_at < %(end)s
         GROUP BY 1, 2
         ORDER BY 1, 2
        """,
        _params(period),
    )


def recall_conversion(period: Period) -> list[tuple[date, int, int, int]]:
    """(month, courses due for maintenance, booked within RECALL_CONVERSION_DAYS of the due
    date, not booked yet but still within those days) for completed courses due in the period.

    Booked: the patient has an appointment (not cancelled, not one of the course itself)
    made after the course was completed and by the end of the RECALL_CONVERSION_DAYS-th
    day after the due date, whether from the recall email, a call or the desk."""
    return _rows(
        """
        SELECT date_trunc('month', due.maintenance_due_on)::date AS month,
               count(*) AS due,
               count(*) FILTER (WHERE due.booked) AS booked,
               count(*) FILTER (WHERE NOT due.booked AND due.maintenance_due_on + %(days)s >= %(today)s) AS open
          FROM (
                SELECT p.maintenance_due_on,
                       EXISTS (
                           SELECT 1 FROM scheduling_appointment a
                            WHERE a.patient_id = p.patient_id
                              -- Not "status <> 'cancelled'": that matches the predicate of the
                              -- exclusion constraint's GiST index, which the planner then picks
                              -- over the patient's btree index, at 5 ms a lookup instead of 0.01.
                              AND CASE WHEN a.status = 'cancelled' THEN false ELSE true END
                              AND a.plan_id IS DISTINCT FROM p.id
                              AND a.created_at >= p.completed_at
                              AND a.created_at
                                  < ((p.maintenance_due_on + %(days)s + 1)::timestamp AT TIME ZONE %(tz)s)
                       ) AS booked
                  FROM treatments_treatmentplan p
                 WHERE p.status = 'completed'
                   AND p.maintenance_due_on >= %(date_from)s AND p.maintenance_due_on <= %(date_to)s
          ) due
         GROUP BY 1
         ORDER BY 1
        """,
        _params(
            period,
            days=RECALL_CONVERSION_DAYS,
            today=timezone.localdate(),
            date_from=period.date_from,
            date_to=period.date_to,
        ),
    )


def new_patients_per_week(period: Period) -> list[tuple[date, int]]:
    """(Monday of the local week, patients registered that week), every week of the period."""
    return _rows(
        """
        SELECT week::date, coalesce(registered.patients, 0)
          FROM generate_series(date_trunc('week', %(date_from)s::date), %(date_to)s::date, interval '1 week') AS week
          LEFT JOIN (
                SELECT date_trunc('week', created_at AT TIME ZONE %(tz)s) AS week, count(*)::int AS patients
                  FROM patients_patient
                 WHERE created_at >= %(start)s AND created_at < %(end)s
                 GROUP BY 1
          ) registered USING (week)
         ORDER BY 1
        """,
        _params(period, date_from=period.date_from, date_to=period.date_to),
    )


def waitlist_refills_per_week(period: Period) -> list[tuple[date, int, int]]:
    """(Monday of the local week, freed slots offered to the waiting list that week, of those
    slots the ones a waiting patient took), every week of the period. A slot is offered in
    waves to several patients; it counts once."""
    return _rows(
        """
        SELECT week::date, coalesce(offered.slots, 0), coalesce(offered.taken, 0)
          FROM generate_series(date_trunc('week', %(date_from)s::date), %(date_to)s::date, interval '1 week') AS week
          LEFT JOIN (
                SELECT date_trunc('week', first_offer AT TIME ZONE %(tz)s) AS week,
                       count(*)::int AS slots, count(*) FILTER (WHERE taken)::int AS taken
                  FROM (
                        SELECT min(created_at) AS first_offer, bool_or(claimed_at IS NOT NULL) AS taken
                          FROM scheduling_waitlistoffer
                         WHERE created_at >= %(start)s AND created_at < %(end)s
                         GROUP BY practitioner_id, starts_at
                  ) slots
                 GROUP BY 1
          ) offered USING (week)
         ORDER BY 1
        """,
        _params(period, date_from=period.date_from, date_to=period.date_to),
    )
