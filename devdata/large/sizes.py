"""How big the generated clinic is, and the marks that tell its records from anyone else's."""

from __future__ import annotations

from dataclasses import dataclass

USERNAME_PREFIX = "large-"
MARKER_USERNAME = "large-seed"
ROOM_PREFIX = "Suite "
PASSWORD = "large-clinic-2026"  # noqa: S105 - benchmark databases only, printed on purpose
FUTURE_DAYS = 56  # how far ahead the calendars are booked
TYPE_CONSULTATION, TYPE_SESSION, TYPE_REVIEW = "Consultation", "Mesotherapy session", "Review"
DEFAULT_TYPES = {  # as seeded by scheduling's migration 0002: duration, buffer, colour, course session
    TYPE_CONSULTATION: (30, 0, "#0d6efd", False),
    TYPE_SESSION: (45, 15, "#6f42c1", True),
    TYPE_REVIEW: (15, 0, "#198754", False),
}


@dataclass(frozen=True)
class Sizes:
    patients: int = 100_000
    practitioners: int = 20
    years: float = 1.0
    appointments_per_day: int = 10
    seed: int = 2026
