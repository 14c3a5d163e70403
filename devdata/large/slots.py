"""The calendar laid out: every practitioner's appointment slots, not yet given to patients."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from clinic.localtime import clock_reaches
from devdata.large.sizes import FUTURE_DAYS, TYPE_CONSULTATION, TYPE_REVIEW, TYPE_SESSION


class Slot:
    """One appointment of the calendar being built."""

    __slots__ = (
        "cancelled_at", "created_at", "day", "id", "kind", "patient", "plan", "practitioner", "session", "starts_at",
        "status",
    )  # fmt: skip

    def __init__(self, practitioner: int, day: date, starts_at: datetime, kind: str) -> None:
        self.practitioner, self.day, self.starts_at, self.kind = practitioner, day, starts_at, kind
        self.id = self.patient = self.plan = self.session = self.status = None
        self.created_at = self.cancelled_at = None


class CalendarStep:
    """Sets ``slots`` (every appointment to be, by start) and ``free_sessions`` (course-session
    slots per practitioner and day, not yet given to a course)."""

    def calendar(self) -> None:
        """Lay out every practitioner's days: about ``appointments_per_day`` appointments
        one after another with random gaps, no overlap (practitioner, room or patient)."""
        rng = self.rng
        blocked = {
            name: appointment_type.duration_minutes + appointment_type.buffer_minutes
            for name, appointment_type in self.types.items()
        }
        self.slots: list[Slot] = []
        self.free_sessions: dict[tuple[int, date], list[Slot]] = defaultdict(list)
        day = self.first_day
        while day <= self.last_day:
            ahead = (day - self.today).days
            # Near days are full; further ahead fewer appointments are booked yet.
            fill = 1.0 if ahead <= 14 else max(0.5, 1.0 - 0.5 * (ahead - 14) / (FUTURE_DAYS - 14))
            for index in range(len(self.practitioners)):
                hours = self.hours[index].get(day.weekday())
                if hours is None or day in self.closed or day in self.away[index]:
                    continue
                opens, closes = hours
                capacity = (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)
                count = max(round(self.sizes.appointments_per_day * fill) + rng.choice([-1, 0, 1, 1]), 0)
                sessions = round(count * 0.5)
                consultations = round(count * 0.3)
                kinds = (
                    [TYPE_SESSION] * sessions
                    + [TYPE_CONSULTATION] * consultations
                    + [TYPE_REVIEW] * (count - sessions - consultations)
                )
                while kinds and sum(blocked[kind] for kind in kinds) > capacity:
                    kinds.pop(0)
                rng.shuffle(kinds)
                gaps = [0] * (len(kinds) + 1)
                for _ in range((capacity - sum(blocked[kind] for kind in kinds)) // 15):
                    gaps[rng.randrange(len(gaps))] += 15
                minute = opens.hour * 60 + opens.minute + gaps[0]
                for position, kind in enumerate(kinds):
                    starts_at = clock_reaches(day, time(minute // 60, minute % 60))
                    slot = Slot(index, day, starts_at, kind)
                    self.slots.append(slot)
                    if kind == TYPE_SESSION:
                        self.free_sessions[(index, day)].append(slot)
                    minute += blocked[kind] + gaps[position + 1]
            day += timedelta(days=1)
        self.slots.sort(key=lambda slot: (slot.starts_at, slot.practitioner))
