"""Practitioners, rooms, opening times and appointments.

Times are stored in UTC; working hours are local wall-clock times of the clinic's zone
(settings.TIME_ZONE), so that "09:00-18:00" stays 09:00-18:00 across daylight-saving changes.
No double booking is a property of the database: exclusion constraints on the practitioner,
the room and the patient with overlapping periods, ignoring cancelled appointments.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from clinic import dates
from messaging import keys
from treatments.models import MAX_SESSION_MINUTES

colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour such as #0d6efd.")


# No appointment (buffer included) lasts longer: reads of a period can then bound starts_at on
# both sides and use the index on it (a constraint below makes it true).
LONGEST_APPOINTMENT = timedelta(days=1)


def earliest_start_running_at(instant):
    """The earliest start of an appointment that may still run at ``instant``. At the first
    instant Python has (a day bound of 0001-01-01), that instant: nothing starts before it."""
    try:
        return instant - LONGEST_APPOINTMENT
    except OverflowError:
        return instant


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class TsTzRange(models.Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Room(models.Model):
    name = models.CharField(max_length=60, unique=True)
    is_active = models.BooleanField("in use", default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PractitionerQuerySet(models.QuerySet):
    def active(self) -> PractitionerQuerySet:
        return self.filter(is_active=True, user__is_active=True)


class Practitioner(models.Model):
    """A staff member who treats patients and has a calendar."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="practitioner")
    is_active = models.BooleanField("takes appointments", default=True)
    colour = models.CharField(max_length=7, default="#6f42c1", validators=[colour_validator])
    default_room = models.ForeignKey(Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The secret in the URL of the private iCalendar feed; regenerating it revokes old links.
    feed_token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)

    objects = PractitionerQuerySet.as_manager()

    class Meta:
        ordering = ["user__last_name", "user__first_name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class WorkingHours(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts_at = models.TimeField(help_text="Local time in the clinic's time zone.")
    ends_at = models.TimeField(help_text="Local time in the clinic's time zone.")

    class Meta:
        ordering = ["practitioner", "weekday", "starts_at"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="working_hours_end_after_start",
                violation_error_message="The working hours must end after they start.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"


def check_period_in_calendar(period) -> None:
    """A time off or closure (entered in the admin) within the days the calendars show
    (clinic/dates.py), so that no read of it overflows."""
    errors = {}
    for name in ("starts_at", "ends_at"):
        value = getattr(period, name)
        if value is not None:
            try:
                dates.CALENDAR.check_instant(value)
            except ValidationError as error:
                errors[name] = error.messages
    if errors:
        raise ValidationError(errors)


class TimeOff(models.Model):
    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="time_off_end_after_start",
                violation_error_message="Time off must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner}: {self.reason or 'time off'}"

    def clean(self) -> None:
        check_period_in_calendar(self)


class ClinicClosure(models.Model):
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="closure_end_after_start",
                violation_error_message="A closure must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return self.reason or "Clinic closed"

    def clean(self) -> None:
        check_period_in_calendar(self)


class AppointmentType(models.Model):
    name = models.CharField(max_length=80, unique=True)
    duration_minutes = models.PositiveSmallIntegerField()
    buffer_minutes = models.PositiveSmallIntegerField(
        default=0, help_text="Time kept free after the appointment (cleaning, notes)."
    )
    colour = models.CharField(max_length=7, default="#0d6efd", validators=[colour_validator])
    is_course_session = models.BooleanField(
        "session of a treatment course", default=False, help_text="Offered first when booking a course."
    )
    is_active = models.BooleanField("bookable", default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=480),
                name="appointment_type_duration_range",
                violation_error_message="The duration must be between 5 minutes and 8 hours.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_minutes} min)"

    def clean(self) -> None:
        # A mesotherapy session (a session of a course) takes under an hour: a longer slot is a mistake.
        if self.is_course_session and self.duration_minutes and self.duration_minutes > MAX_SESSION_MINUTES:
            raise ValidationError(
                {
                    "duration_minutes": f"A mesotherapy session lasts at most {MAX_SESSION_MINUTES} minutes; "
                    f"{self.duration_minutes} minutes is too long for a course session type."
                }
            )

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def buffer(self) -> timedelta:
        return timedelta(minutes=self.buffer_minutes)


class AppointmentQuerySet(models.QuerySet):
    def live(self) -> AppointmentQuerySet:
        """Appointments that hold their slot (everything but cancelled)."""
        return self.exclude(status=Appointment.Status.CANCELLED)

    def overlapping(self, starts_at, ends_at) -> AppointmentQuerySet:
        """Appointments whose blocked time overlaps [starts_at, ends_at)."""
        return self.filter(
            starts_at__lt=ends_at, blocked_until__gt=starts_at, starts_at__gte=earliest_start_running_at(starts_at)
        )

    def during(self, start, end) -> AppointmentQuerySet:
        """Appointments whose own time (buffer left out) overlaps [start, end)."""
        return self.filter(starts_at__lt=end, ends_at__gt=start, starts_at__gte=earliest_start_running_at(start))

    def for_calendar(self) -> AppointmentQuerySet:
        return self.select_related("patient", "practitioner__user", "room", "appointment_type", "plan")


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed"
        ARRIVED = "arrived", "Arrived"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    OPEN_STATUSES = (Status.BOOKED, Status.CONFIRMED)
    SUBJECT = "appointment"  # what its outbox rows are about: "appointment:<id>" (messaging.keys)

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointments")
    practitioner = models.ForeignKey(Practitioner, on_delete=models.PROTECT, related_name="appointments")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="appointments")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # ends_at plus the type's buffer: the practitioner and the room are busy until then.
    blocked_until = models.DateTimeField(editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    cancel_reason = models.CharField(max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    notes = models.TextField(
        "booking notes", blank=True, help_text="Administrative notes only: no clinical information."
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The treatment course this appointment is a session of, if any.
    plan = models.ForeignKey(
        "treatments.TreatmentPlan", on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    plan_session_number = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["starts_at"], name="appointment_starts_at"),
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="appointment_end_after_start",
                violation_error_message="The end must be after the start.",
            ),
            models.CheckConstraint(condition=Q(blocked_until__gte=F("ends_at")), name="appointment_blocked_after_end"),
            models.CheckConstraint(
                condition=Q(blocked_until__lte=F("starts_at") + LONGEST_APPOINTMENT),
                name="appointment_shorter_than_a_day",
                violation_error_message="An appointment cannot last longer than a day.",
            ),
            models.UniqueConstraint(
                fields=["plan", "plan_session_number"],
                condition=~Q(status="cancelled"),
                name="appointment_one_per_plan_session",
                violation_error_message="This session of the course is already booked.",
            ),
            # '[)' ranges: an appointment ending at 12:45 and one starting at 12:45 do not overlap.
            ExclusionConstraint(
                name="appointment_no_practitioner_overlap",
                expressions=[
                    (TsTzRange("starts_at", "blocked_until", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("practitioner", RangeOperators.EQUAL),
                ],
                condition=~Q(status="cancelled"),
                violation_error_message="The practitioner already has an appointment at this time.",
            ),
            ExclusionConstraint(
                name="appointment_no_room_overlap",
                expressions=[
                    (TsTzRange("starts_at", "blocked_until", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("room", RangeOperators.EQUAL),
                ],
                condition=~Q(status="cancelled"),
                violation_error_message="The room is already booked at this time.",
            ),
            ExclusionConstraint(
                name="appointment_no_patient_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("patient", RangeOperators.EQUAL),
                ],
                condition=~Q(status="cancelled"),
                violation_error_message="The patient already has an appointment at this time.",
            ),
        ]

    def __str__(self) -> str:
        local = timezone.localtime(self.starts_at)
        return f"{self.appointment_type.name} for {self.patient} on {local:%d %b %Y %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:appointment_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def subject_ref(self) -> str:
        return keys.subject_ref(self.SUBJECT, self.pk)


class AppointmentChange(models.Model):
    """One row per change of an appointment: its history, never rewritten."""

    class Action(models.TextChoices):
        BOOKED = "booked", "Booked"
        MOVED = "moved", "Moved"
        CANCELLED = "cancelled", "Cancelled"
        STATUS = "status", "Status changed"

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=10, choices=Action.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    old_starts_at = models.DateTimeField(null=True, blank=True)
    new_starts_at = models.DateTimeField(null=True, blank=True)
    old_practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    new_practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.changed_at:%Y-%m-%d %H:%M}"


# The waiting list -------------------------------------------------------------------------


class WaitlistEntryQuerySet(models.QuerySet):
    def waiting(self) -> WaitlistEntryQuerySet:
        return self.filter(status=WaitlistEntry.Status.WAITING)


class WaitlistEntry(models.Model):
    """A patient who would take an earlier slot: of a type, with one practitioner or any, on
    a day between ``date_from`` and ``date_to`` (on ``weekdays``, empty for any), starting and
    ending inside a local time window (lunchtime by default)."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        BOOKED = "booked", "Booked from an offer"
        REMOVED = "removed", "Taken off the list"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="waitlist_entries")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="Empty: any."
    )
    date_from = models.DateField()
    date_to = models.DateField()
    window_start = models.TimeField(help_text="Local time in the clinic's time zone.")
    window_end = models.TimeField(help_text="Local time in the clinic's time zone.")
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(choices=WorkingHours.Weekday.choices), blank=True, default=list
    )
    notes = models.CharField(max_length=200, blank=True, help_text="Administrative notes only.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The booking that closed the entry (status BOOKED).
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="waitlist_entries"
    )

    objects = WaitlistEntryQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waiting list entries"
        indexes = [
            models.Index(fields=["date_to"], condition=Q(status="waiting"), name="waitlist_waiting_until"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_to__gte=F("date_from")),
                name="waitlist_dates_in_order",
                violation_error_message="The last day must not be before the first.",
            ),
            models.CheckConstraint(
                condition=Q(window_end__gt=F("window_start")),
                name="waitlist_window_in_order",
                violation_error_message="The time window must end after it starts.",
            ),
            models.CheckConstraint(
                condition=~Q(status="booked") | Q(appointment__isnull=False),
                name="waitlist_booked_has_appointment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} waiting for {self.appointment_type.name}"

    @property
    def is_waiting(self) -> bool:
        return self.status == self.Status.WAITING

    def weekday_names(self) -> list[str]:
        return [WorkingHours.Weekday(day).label for day in sorted(self.weekdays)]


class WaitlistOffer(models.Model):
    """A freed slot offered to one waiting patient, by one email with a "take this slot" link.
    A patient is offered a slot (practitioner and start) once, whatever frees it again."""

    SUBJECT = "waitlist_offer"  # its outbox row is about "waitlist_offer:<id>" (messaging.keys)

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.PROTECT, related_name="offers")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(Practitioner, on_delete=models.PROTECT, related_name="+")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The appointment whose cancellation, move or no-show freed the slot.
    freed_by = models.ForeignKey(Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    wave = models.PositiveSmallIntegerField(help_text="1 for the first patients offered the slot, 2 for the next...")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    message = models.ForeignKey(
        "messaging.ScheduledMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "wave", "id"]
        indexes = [
            models.Index(fields=["practitioner", "starts_at"], name="waitlist_offer_slot"),
            models.Index(fields=["claimed_at"], condition=Q(claimed_at__isnull=False), name="waitlist_offer_claimed"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "practitioner", "starts_at"],
                name="waitlist_offer_once_per_slot",
                violation_error_message="This patient was already offered this slot.",
            ),
            models.CheckConstraint(
                condition=Q(claimed_at__isnull=True) | Q(appointment__isnull=False),
                name="waitlist_offer_claimed_has_appointment",
            ),
        ]

    def __str__(self) -> str:
        return f"Offer of {timezone.localtime(self.starts_at):%d %b %H:%M} to {self.patient}"

    @property
    def subject_ref(self) -> str:
        return keys.subject_ref(self.SUBJECT, self.pk)

    @property
    def is_claimed(self) -> bool:
        return self.claimed_at is not None
