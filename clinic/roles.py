"""Staff roles and what each may do: the one declaration.

A role is a Django group; what it may do is the permissions it is granted. Views never test
group names: they ask for permissions (clinic.permissions) through the access helpers.

ROLE_PERMISSIONS below is what every role holds, no more and no less. The database is made
to match it by migrations that call ``clinic.migration_helpers.sync_role_permissions`` (it
adds missing grants and removes extra ones; groups not named here are left alone). So a
change to ROLE_PERMISSIONS ships with a new migration in clinic that calls the same sync with
a copy of the new declaration (see clinic/migrations/0003_sync_role_permissions.py): a
migration is history, it must keep doing what it did when production ran it, as Django's
frozen model state does. The new migration depends on the latest migration of every app
whose permissions it grants. tests/clinic/test_roles.py fails while the migrated database
differs from this declaration, so a forgotten migration is caught.

README.md ("Roles and what they may do") says the same in words; tests/test_permissions.py
checks every page against every role.
"""

from __future__ import annotations

from clinic import permissions as perm

DOCTOR = "Doctor"
RECEPTIONIST = "Receptionist"
MANAGER = "Manager"
ALL_ROLES = (DOCTOR, RECEPTIONIST, MANAGER)

# Reception work: find, register and keep the contact details of patients.
_PATIENT_DESK = (perm.VIEW_PATIENT, perm.ADD_PATIENT, perm.CHANGE_PATIENT)
# Calendars and booking: the appointment facts, never the clinical content behind them.
_BOOKING_DESK = (
    perm.VIEW_APPOINTMENT,
    perm.BOOK_APPOINTMENT,
    perm.CHANGE_APPOINTMENT,
    perm.VIEW_PRACTITIONER,
    perm.VIEW_ROOM,
    perm.VIEW_APPOINTMENT_TYPE,
)

# The maintenance recall worklist: who is due, the phone call, the status and notes.
_RECALL_DESK = (perm.VIEW_RECALLS, perm.CHANGE_RECALL)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    DOCTOR: frozenset(
        {
            *_PATIENT_DESK,
            perm.VIEW_CLINICAL,
            perm.RECORD_CLINICAL,
            perm.VIEW_MESSAGES,
            # Doctors read the formulary and may override a blocking safety finding (with a reason).
            perm.VIEW_INGREDIENT,
            perm.VIEW_PRODUCT,
            perm.VIEW_BATCH,
            perm.TRACE_BATCH,
            perm.OVERRIDE_SAFETY,
            perm.EXPORT_PATIENT_RECORD,
            *_BOOKING_DESK,
            *_RECALL_DESK,
            perm.CLOSE_FOLLOW_UP_TASK,
        }
    ),
    RECEPTIONIST: frozenset(
        {
            *_PATIENT_DESK,
            perm.ARCHIVE_PATIENT,
            perm.IMPORT_PATIENTS,
            perm.VIEW_MESSAGES,
            *_BOOKING_DESK,
            *_RECALL_DESK,
        }
    ),
    # Managers run the clinic: staff accounts, consent texts, the audit trail, the outbox, the
    # formulary and the clinic's set-up. They see the calendars but do not book, and never
    # read clinical data, except in a patient's subject access export (a legal duty they answer).
    # They also issue the API tokens client systems read the FHIR API with.
    MANAGER: frozenset(
        {
            *_PATIENT_DESK,
            perm.ARCHIVE_PATIENT,
            perm.DELETE_PATIENT,
            perm.IMPORT_PATIENTS,
            perm.VIEW_CONSENT_DOCUMENT,
            perm.ADD_CONSENT_DOCUMENT,
            perm.VIEW_AUDIT_TRAIL,
            perm.VIEW_USER,
            perm.ADD_USER,
            perm.CHANGE_USER,
            perm.VIEW_GROUP,
            perm.VIEW_MESSAGES,
            perm.RETRY_MESSAGES,
            perm.VIEW_INGREDIENT,
            perm.ADD_INGREDIENT,
            perm.CHANGE_INGREDIENT,
            perm.VIEW_PRODUCT,
            perm.ADD_PRODUCT,
            perm.CHANGE_PRODUCT,
            perm.VIEW_BATCH,
            perm.ADD_BATCH,
            perm.CHANGE_BATCH,
            # A recall lists who received the batch (names, dates, amounts: no clinical notes)
            # and sends them the notice.
            perm.TRACE_BATCH,
            perm.RECALL_BATCH,
            perm.VIEW_APPOINTMENT,
            perm.VIEW_PRACTITIONER,
            perm.ADD_PRACTITIONER,
            perm.CHANGE_PRACTITIONER,
            perm.VIEW_ROOM,
            perm.ADD_ROOM,
            perm.CHANGE_ROOM,
            perm.VIEW_WORKING_HOURS,
            perm.ADD_WORKING_HOURS,
            perm.CHANGE_WORKING_HOURS,
            perm.VIEW_TIME_OFF,
            perm.ADD_TIME_OFF,
            perm.CHANGE_TIME_OFF,
            perm.VIEW_CLINIC_CLOSURE,
            perm.ADD_CLINIC_CLOSURE,
            perm.CHANGE_CLINIC_CLOSURE,
            perm.VIEW_APPOINTMENT_TYPE,
            perm.ADD_APPOINTMENT_TYPE,
            perm.CHANGE_APPOINTMENT_TYPE,
            perm.EXPORT_PATIENT_RECORD,
            perm.VIEW_API_TOKEN,
            perm.ADD_API_TOKEN,
            perm.REVOKE_API_TOKEN,
            # The recall worklist, read-only, and the clinic's figures.
            perm.VIEW_RECALLS,
            perm.VIEW_REPORTS,
        }
    ),
}


def roles_of(user) -> frozenset[str]:
    """The role names of ``user``, cached on the user object for the request."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_clinic_roles", None)
    if cached is None:
        # The staff backend (clinic/accounts/backends.py) reads the roles with the permissions,
        # which every page needs anyway: one statement for both.
        user.get_all_permissions()
        cached = getattr(user, "_clinic_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._clinic_roles = cached
    return cached


def remember_roles(user, names) -> None:
    """Keep ``user``'s role names for the request (read by ``roles_of``)."""
    user._clinic_roles = frozenset(names)
