"""iCalendar files: one per appointment (for the patient) and a private feed per practitioner."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, timedelta

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vText

from scheduling.models import Appointment, Practitioner

PRODID = "-//Clinic//Scheduling//EN"
FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 365
# RFC 5545 text allows no control character but a tab.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def ical_text(value: str) -> vText:
    """A one-line TEXT value from names people typed (a staff name pasted with a line break):
    line breaks become spaces, other control characters go, and vText escapes the rest."""
    return vText(CONTROL_CHARACTERS.sub("", LINE_BREAKS.sub(" ", value)).strip())


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # An X- property is not escaped unless it is given as text.
    calendar.add("x-wr-calname", ical_text(name))
    return calendar


def _uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}"


def _event(appointment: Appointment, *, summary: str, description: str) -> Event:
    event = Event()
    event.add("uid", _uid(appointment))
    event.add("dtstamp", timezone.now().astimezone(UTC))
    event.add("dtstart", appointment.starts_at.astimezone(UTC))
    event.add("dtend", appointment.ends_at.astimezone(UTC))
    event.add("summary", ical_text(summary))
    event.add("description", ical_text(description))
    event.add("location", ical_text(settings.CLINIC_NAME))
    cancelled = appointment.status == Appointment.Status.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # A moved appointment must replace the copy already in the patient's calendar.
    event.add("sequence", appointment.changes.count() if appointment.pk else 0)
    return event


def appointment_ics(appointment: Appointment) -> bytes:
    """The patient's copy: what, with whom, where; nothing clinical."""
    return appointments_ics([appointment])


def appointments_ics(appointments: Iterable[Appointment]) -> bytes:
    """The patient's copy of several appointments (a course's sessions) in one file, each
    event with the same UID as its own file, so that either updates the other."""
    calendar = _calendar(settings.CLINIC_NAME)
    calendar.add("method", "PUBLISH")
    for appointment in appointments:
        calendar.add_component(
            _event(
                appointment,
                summary=f"{appointment.appointment_type.name} at {settings.CLINIC_NAME}",
                description=(
                    f"With {appointment.practitioner.name}. To change or cancel, call {settings.CLINIC_PHONE}."
                ),
            )
        )
    return calendar.to_ical()


def feed_appointments(practitioner: Practitioner) -> Iterable[Appointment]:
    now = timezone.now()
    return (
        Appointment.objects.live()
        .filter(
            practitioner=practitioner,
            starts_at__gte=now - timedelta(days=FEED_PAST_DAYS),
            starts_at__lte=now + timedelta(days=FEED_FUTURE_DAYS),
        )
        .select_related("patient", "appointment_type", "room")
        .order_by("starts_at")
    )


def practitioner_feed(practitioner: Practitioner) -> bytes:
    """The practitioner's private feed. It is read by a calendar app outside the clinic, so
    it names the patient by first name and initial only, and carries no clinical data."""
    calendar = _calendar(f"{settings.CLINIC_NAME}: {practitioner.name}")
    for appointment in feed_appointments(practitioner):
        patient = appointment.patient
        event = Event()
        event.add("uid", _uid(appointment))
        event.add("dtstamp", timezone.now().astimezone(UTC))
        event.add("dtstart", appointment.starts_at.astimezone(UTC))
        event.add("dtend", appointment.ends_at.astimezone(UTC))
        event.add(
            "summary", ical_text(f"{appointment.appointment_type.name}: {patient.first_name} {patient.last_name[:1]}.")
        )
        event.add("location", ical_text(f"{settings.CLINIC_NAME}, {appointment.room.name}"))
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()
