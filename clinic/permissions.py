"""The name of every permission the roles are granted or the code asks for, as
"app_label.codename" (what ``user.has_perm`` takes). Access helpers and views use these names,
never a raw string: a typo is then a NameError, not a permission nobody holds.
tests/clinic/test_roles.py checks that each names a permission that exists.

Plain strings, so clinic (which imports no domain app) can declare the roles in clinic/roles.py.
Templates keep Django's ``perms.app_label.codename``.
"""

from __future__ import annotations

# Staff accounts (Django auth) and the audit trail --------------------------------------
VIEW_USER = "auth.view_user"
ADD_USER = "auth.add_user"
CHANGE_USER = "auth.change_user"
VIEW_GROUP = "auth.view_group"
VIEW_AUDIT_TRAIL = "clinic.view_auditentry"

# Patients: the desk (demographics, contact) and clinical data ---------------------------
VIEW_PATIENT = "patients.view_patient"
ADD_PATIENT = "patients.add_patient"
CHANGE_PATIENT = "patients.change_patient"
ARCHIVE_PATIENT = "patients.archive_patient"
DELETE_PATIENT = "patients.delete_patient"
# Import patients from another system's CSV file.
IMPORT_PATIENTS = "patients.import_patients"
# Medical history, skin profile, consents, and every treatment record.
VIEW_CLINICAL = "patients.view_clinical"
RECORD_CLINICAL = "patients.record_clinical"
# The consent texts patients sign (Administration).
VIEW_CONSENT_DOCUMENT = "patients.view_consentdocument"
ADD_CONSENT_DOCUMENT = "patients.add_consentdocument"

# Messaging: the outbox --------------------------------------------------------------------
VIEW_MESSAGES = "messaging.view_scheduledmessage"
RETRY_MESSAGES = "messaging.retry_scheduledmessage"

# Treatments: the formulary and the safety override ---------------------------------------
VIEW_INGREDIENT = "treatments.view_ingredient"
ADD_INGREDIENT = "treatments.add_ingredient"
CHANGE_INGREDIENT = "treatments.change_ingredient"
VIEW_PRODUCT = "treatments.view_product"
ADD_PRODUCT = "treatments.add_product"
CHANGE_PRODUCT = "treatments.change_product"
VIEW_BATCH = "treatments.view_batch"
ADD_BATCH = "treatments.add_batch"
CHANGE_BATCH = "treatments.change_batch"
# Traceability: which patients received a batch ("who got lot X"), and recalling one.
TRACE_BATCH = "treatments.trace_batch"
RECALL_BATCH = "treatments.recall_batch"
OVERRIDE_SAFETY = "treatments.add_safetyoverride"
# The maintenance recall worklist (the desk calls or emails patients due for maintenance).
VIEW_RECALLS = "treatments.view_maintenancerecall"
CHANGE_RECALL = "treatments.change_maintenancerecall"
# Marking done a concern a patient raised after a session.
CLOSE_FOLLOW_UP_TASK = "treatments.change_followuptask"

# Scheduling: appointments, and setting the clinic up (Administration) -------------------
VIEW_APPOINTMENT = "scheduling.view_appointment"
BOOK_APPOINTMENT = "scheduling.add_appointment"
CHANGE_APPOINTMENT = "scheduling.change_appointment"
VIEW_PRACTITIONER = "scheduling.view_practitioner"
ADD_PRACTITIONER = "scheduling.add_practitioner"
CHANGE_PRACTITIONER = "scheduling.change_practitioner"
VIEW_ROOM = "scheduling.view_room"
ADD_ROOM = "scheduling.add_room"
CHANGE_ROOM = "scheduling.change_room"
VIEW_WORKING_HOURS = "scheduling.view_workinghours"
ADD_WORKING_HOURS = "scheduling.add_workinghours"
CHANGE_WORKING_HOURS = "scheduling.change_workinghours"
VIEW_TIME_OFF = "scheduling.view_timeoff"
ADD_TIME_OFF = "scheduling.add_timeoff"
CHANGE_TIME_OFF = "scheduling.change_timeoff"
VIEW_CLINIC_CLOSURE = "scheduling.view_clinicclosure"
ADD_CLINIC_CLOSURE = "scheduling.add_clinicclosure"
CHANGE_CLINIC_CLOSURE = "scheduling.change_clinicclosure"
VIEW_APPOINTMENT_TYPE = "scheduling.view_appointmenttype"
ADD_APPOINTMENT_TYPE = "scheduling.add_appointmenttype"
CHANGE_APPOINTMENT_TYPE = "scheduling.change_appointmenttype"

# Data in and out: API tokens for client systems (FHIR API), the subject access export -------
VIEW_API_TOKEN = "fhirapi.view_apitoken"  # noqa: S105 - a permission name
ADD_API_TOKEN = "fhirapi.add_apitoken"  # noqa: S105 - a permission name
REVOKE_API_TOKEN = "fhirapi.revoke_apitoken"  # noqa: S105 - a permission name
EXPORT_PATIENT_RECORD = "fhirapi.export_patient_record"
# Reports for managers ----------------------------------------------------------------------
VIEW_REPORTS = "reports.view_reports"
