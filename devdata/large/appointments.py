"""The appointments of the calendar, their history and the outbox rows each implies."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from devdata.large.tables import Table
from messaging import keys
from messaging.models import ScheduledMessage
from scheduling.models import Appointment, AppointmentChange
from scheduling.services import confirmation_key, reminder_key

Kind = ScheduledMessage.Kind
Status = Appointment.Status


class AppointmentsStep:
    """Writes every slot that has (or now gets) a patient as an appointment, with its history
    and the outbox rows the booking implies; then the courses' rows (``course_messages``)."""

    def appointments_and_messages(self) -> None:
        rng = self.rng
        appointments = Table(
            Appointment,
            [
                "patient", "practitioner", "room", "appointment_type", "starts_at", "ends_at", "blocked_until",
                "status", "cancel_reason", "cancelled_at", "notes", "booked_by", "plan", "plan_session_number",
                "created_at", "updated_at",
            ],
        )  # fmt: skip
        changes = Table(
            AppointmentChange,
            [
                "appointment", "action", "changed_at", "changed_by", "from_status", "to_status", "old_starts_at",
                "new_starts_at", "old_practitioner", "new_practitioner", "reason",
            ],
        )  # fmt: skip
        reminder_lead = timedelta(hours=settings.APPOINTMENT_REMINDER_HOURS)
        receptionists = [user.pk for user in self.receptionists]
        for slot in self.slots:
            if slot.patient is None:
                slot.patient = self.pick_patient(slot.day)
                if slot.patient is None:
                    continue
            slot.id = appointments.new_id()
        for slot in self.slots:
            if slot.id is None:
                continue
            appointment_type = self.types[slot.kind]
            ends_at = slot.starts_at + appointment_type.duration
            blocked_until = ends_at + appointment_type.buffer
            past = slot.starts_at < self.now
            if slot.created_at is None:
                lead = timedelta(days=rng.uniform(0.5, 28))
                slot.created_at = min(slot.starts_at - lead, self.now - timedelta(minutes=rng.randint(5, 600)))
            if slot.status is None:
                draw = rng.random()
                if past and self.now < ends_at:
                    slot.status = Status.ARRIVED  # in the treatment room right now
                elif past:
                    slot.status = (
                        Status.COMPLETED if draw < 0.85 else Status.NO_SHOW if draw < 0.91 else Status.CANCELLED
                    )
                else:
                    slot.status = (
                        Status.BOOKED if draw < 0.55 else Status.CONFIRMED if draw < 0.95 else Status.CANCELLED
                    )
                if slot.status == Status.CANCELLED:
                    latest = min(slot.starts_at, self.now)
                    slot.cancelled_at = slot.created_at + (latest - slot.created_at) * rng.uniform(0.3, 0.95)
            booked_by = (
                self.doctors[slot.practitioner].pk
                if slot.plan is not None
                else receptionists[slot.id % len(receptionists)]
            )
            updated = slot.cancelled_at or (ends_at if past else slot.created_at)
            appointments.add_with_id(
                slot.id, slot.patient, self.practitioners[slot.practitioner].pk,
                self.practitioners[slot.practitioner].default_room_id, appointment_type.pk, slot.starts_at, ends_at,
                blocked_until, slot.status,
                "The patient asked to cancel" if slot.status == Status.CANCELLED else "", slot.cancelled_at, "",
                booked_by, slot.plan, slot.session, slot.created_at, updated,
            )  # fmt: skip
            changes.add(
                slot.id, AppointmentChange.Action.BOOKED, slot.created_at, booked_by, "", Status.BOOKED, None,
                slot.starts_at, None, self.practitioners[slot.practitioner].pk, "",
            )  # fmt: skip
            if slot.status == Status.CANCELLED:
                changes.add(
                    slot.id, AppointmentChange.Action.CANCELLED, slot.cancelled_at, booked_by, Status.BOOKED,
                    Status.CANCELLED, None, None, None, None, "The patient asked to cancel",
                )  # fmt: skip
            elif slot.status != Status.BOOKED:
                changed_at = ends_at if past else slot.created_at + (slot.starts_at - slot.created_at) / 2
                if slot.status == Status.ARRIVED:
                    changed_at = slot.starts_at - timedelta(minutes=5)
                changes.add(
                    slot.id, AppointmentChange.Action.STATUS, min(changed_at, self.now),
                    self.doctors[slot.practitioner].pk if past else None, Status.BOOKED, slot.status, None, None,
                    None, None, "",
                )  # fmt: skip
            # The same keys as scheduling's services write.
            appointment = Appointment(pk=slot.id, starts_at=slot.starts_at)
            ref = appointment.subject_ref
            self.message(Kind.BOOKING_CONFIRMATION, slot.patient, ref, confirmation_key(appointment), slot.created_at)
            if slot.starts_at - slot.created_at > reminder_lead:
                key = reminder_key(appointment)
                self.message(
                    Kind.APPOINTMENT_REMINDER, slot.patient, ref, key, slot.starts_at - reminder_lead,
                    cancelled_at=slot.cancelled_at,
                )  # fmt: skip
            if slot.status == Status.NO_SHOW:
                self.message(
                    Kind.NO_SHOW_FOLLOW_UP,
                    slot.patient,
                    ref,
                    keys.message_key(ref, Kind.NO_SHOW_FOLLOW_UP),
                    ends_at + timedelta(minutes=15),
                )
        self.course_messages()
        self.flush(appointments, changes, self.messages)
