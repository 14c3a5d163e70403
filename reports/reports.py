"""The reports a manager reads: each turns one selector's grouped rows into a table (the CSV
is the same table) and a bar chart. REPORTS lists them in page order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from reports import selectors
from reports.charts import BarChart, bar_chart
from reports.selectors import Period

WEEKDAYS = {1: "Monday", 2: "Tuesday", 3: "Wednesday", 4: "Thursday", 5: "Friday", 6: "Saturday", 7: "Sunday"}


@dataclass
class Report:
    slug: str
    title: str
    explanation: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    chart: BarChart | None = None


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def no_shows(period: Period) -> Report:
    grouped = selectors.no_shows_by_weekday_hour(period)
    by_day: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = []
    for weekday, hour, appointments, missed in grouped:
        by_day[weekday][0] += appointments
        by_day[weekday][1] += missed
        rows.append([WEEKDAYS[weekday], f"{hour:02d}:00", appointments, missed, _percent(missed, appointments)])
    items = [(WEEKDAYS[day][:3], _percent(missed, total)) for day, (total, missed) in sorted(by_day.items())]
    return Report(
        slug="no-shows",
        title="No-show rate by weekday and time",
        explanation="Appointments in the period whose outcome is known (the patient came, or did not), by the "
        "local weekday and hour they started at.",
        columns=["Weekday", "Hour", "Appointments", "No-shows", "No-show rate (%)"],
        rows=rows,
        chart=bar_chart(
            title="No-show rate by weekday",
            description=", ".join(f"{label}: {value}%" for label, value in items) or "No appointment in the period.",
            items=items,
            unit="%",
            top=max([value for _, value in items] + [10]),
        ),
    )


def lunchtime_utilisation(period: Period) -> Report:
    start, end = selectors.lunchtime()
    rows, items = [], []
    for _, name, booked, working in selectors.lunchtime_utilisation(period):
        rate = _percent(booked, working)
        rows.append([name, booked, working, rate if working else ""])
        items.append((name, rate))
    return Report(
        slug="lunchtime-utilisation",
        title="Lunchtime utilisation per practitioner",
        explanation=f"Booked minutes in the lunchtime window ({start:%H:%M}-{end:%H:%M}) over the practitioner's "
        "working minutes in that window, for each day of the period (time off is not taken out).",
        columns=["Practitioner", "Booked lunchtime minutes", "Working lunchtime minutes", "Utilisation (%)"],
        rows=rows,
        chart=bar_chart(
            title="Lunchtime utilisation",
            description=", ".join(f"{label}: {value}%" for label, value in items) or "No lunchtime hours.",
            items=items,
            unit="%",
            top=max([value for _, value in items] + [100]),
        ),
    )


def course_completion(period: Period) -> Report:
    started = completed = running = proposed = 0
    abandoned: dict[int, int] = defaultdict(int)
    for status, sessions, plans in selectors.course_outcomes(period):
        started += plans
        if status == "completed":
            completed += plans
        elif status == "cancelled":
            abandoned[sessions] += plans
        elif status == "active":
            running += plans
        else:
            proposed += plans
    rows = [["Started", started], ["Completed", completed], ["Still running", running]]
    rows += [[f"Abandoned after {n} session{'s' if n != 1 else ''}", count] for n, count in sorted(abandoned.items())]
    items = [(label, count) for label, count in rows[1:]]
    return Report(
        slug="course-completion",
        title="Course completion",
        explanation="Courses started in the period, by where they stand now: completed, still running, or "
        "cancelled (abandoned) after a number of signed sessions.",
        columns=["Courses", "Count"],
        rows=rows,
        chart=bar_chart(
            title="What became of the courses started",
            description=", ".join(f"{label}: {count}" for label, count in items),
            items=[(label.replace("Abandoned after ", "Ab. "), count) for label, count in items],
        ),
    )


def recall_conversion(period: Period) -> Report:
    rows, items = [], []
    for month, due, booked, still_open in selectors.recall_conversion(period):
        rate = _percent(booked, due)
        rows.append([f"{month:%b %Y}", due, booked, still_open, rate])
        items.append((f"{month:%b %y}", rate))
    return Report(
        slug="recall-conversion",
        title="Maintenance recall conversion",
        explanation=f"Completed courses whose maintenance fell due in the period, and how many of those patients "
        f"booked within {selectors.RECALL_CONVERSION_DAYS} days of the due date (from the email, a call or the "
        "desk). \"Still open\": not booked yet, but the days are not over.",
        columns=["Month due", "Due", f"Booked within {selectors.RECALL_CONVERSION_DAYS} days", "Still open",
                 "Conversion (%)"],
        rows=rows,
        chart=bar_chart(
            title="Recall conversion by month due",
            description=", ".join(f"{label}: {value}%" for label, value in items) or "No maintenance due.",
            items=items,
            unit="%",
            top=100,
        ),
    )  # fmt: skip


def new_patients(period: Period) -> Report:
    weeks = selectors.new_patients_per_week(period)
    return Report(
        slug="new-patients",
        title="New patients per week",
        explanation="Patients registered each week (weeks start on Monday, local time).",
        columns=["Week of", "New patients"],
        rows=[[f"{week:%d %b %Y}", count] for week, count in weeks],
        chart=bar_chart(
            title="New patients per week",
            description=", ".join(f"week of {week:%d %b}: {count}" for week, count in weeks),
            items=[(f"{week:%d %b}", count) for week, count in weeks],
        ),
    )


def waitlist_refills(period: Period) -> Report:
    weeks = selectors.waitlist_refills_per_week(period)
    return Report(
        slug="waitlist-refills",
        title="Freed slots refilled from the waiting list",
        explanation="Slots freed by a cancellation or a move and offered to waiting patients, by the week of "
        "the first offer, and how many of them a waiting patient took.",
        columns=["Week of", "Slots offered", "Refilled", "Refilled (%)"],
        rows=[[f"{week:%d %b %Y}", offered, taken, _percent(taken, offered)] for week, offered, taken in weeks],
        chart=bar_chart(
            title="Slots refilled from the waiting list per week",
            description=", ".join(f"week of {week:%d %b}: {taken} of {offered}" for week, offered, taken in weeks),
            items=[(f"{week:%d %b}", taken) for week, _, taken in weeks],
        ),
    )


REPORTS: dict[str, Callable[[Period], Report]] = {
    "no-shows": no_shows,
    "lunchtime-utilisation": lunchtime_utilisation,
    "course-completion": course_completion,
    "recall-conversion": recall_conversion,
    "new-patients": new_patients,
    "waitlist-refills": waitlist_refills,
}
