"""Access helpers of the scheduling pages: every view loads its objects through these.

Receptionists and doctors book and manage appointments; managers see the calendars and set
the clinic up. Clinical data (the treatment plan behind a course) is linked only for users
with clinical permission.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from clinic.permissions import BOOK_APPOINTMENT, CHANGE_PRACTITIONER, VIEW_APPOINTMENT, VIEW_CLINICAL
from clinic.rows import one_or_404
from patients.access import require_perm, require_record_perm
from scheduling.models import Appointment, Practitioner


def get_appointment_for(user, pk: int, *, perm: str = VIEW_APPOINTMENT) -> Appointment:
    require_record_perm(user, perm, object_type="appointment", object_id=pk, patient_id=None)
    return get_object_or_404(
        Appointment.objects.select_related(
            "patient", "practitioner__user", "room", "appointment_type", "booked_by", "plan"
        ),
        pk=pk,
    )


def get_practitioner_for(user, pk: int) -> Practitioner:
    require_perm(user, VIEW_APPOINTMENT)
    return one_or_404(Practitioner, pk, ("user",))


def can_manage_feed(user, practitioner: Practitioner) -> bool:
    """The practitioner's own feed, or any feed for whoever sets practitioners up."""
    return practitioner.user_id == user.pk or user.has_perm(CHANGE_PRACTITIONER)


def get_feed_practitioner_for(user, pk: int) -> Practitioner:
    practitioner = get_object_or_404(Practitioner.objects.select_related("user"), pk=pk)
    if not can_manage_feed(user, practitioner):
        raise PermissionDenied
    return practitioner


def get_plan_for_booking(user, pk: int):
    """The plan whose sessions are booked. Receptionists may book a course; the pages show
    them only the facts needed to book it, never the plan's clinical content."""
    from treatments.models import TreatmentPlan

    require_perm(user, BOOK_APPOINTMENT)
    return get_object_or_404(TreatmentPlan.objects.select_related("patient", "doctor"), pk=pk)


def can_see_clinical(user) -> bool:
    return user.has_perm(VIEW_CLINICAL)


def get_waitlist_entry_for(user, pk: int, *, perm: str = VIEW_APPOINTMENT):
    from scheduling.models import WaitlistEntry

    require_record_perm(user, perm, object_type="waiting list entry", object_id=pk, patient_id=None)
    return get_object_or_404(WaitlistEntry.objects.select_related("patient", "appointment_type"), pk=pk)
