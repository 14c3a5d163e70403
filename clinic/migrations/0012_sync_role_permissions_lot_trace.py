"""Roles after the lot traceability work: doctors and managers may see who received a batch
(treatments.trace_batch), managers may recall one and notify those patients
(treatments.recall_batch). A frozen copy of clinic/roles.py as it stood (see 0003)."""

from django.db import migrations

from clinic.migration_helpers import sync_role_permissions

ROLE_PERMISSIONS = {
    "Doctor": [
        "fhirapi.export_patient_record",
        "messaging.view_scheduledmessage",
        "patients.add_patient",
        "patients.change_patient",
        "patients.record_clinical",
        "patients.view_clinical",
        "patients.view_patient",
        "scheduling.add_appointment",
        "scheduling.change_appointment",
        "scheduling.view_appointment",
        "scheduling.view_appointmenttype",
        "scheduling.view_practitioner",
        "scheduling.view_room",
        "treatments.add_safetyoverride",
        "treatments.change_followuptask",
        "treatments.change_maintenancerecall",
        "treatments.trace_batch",
        "treatments.view_batch",
        "treatments.view_ingredient",
        "treatments.view_maintenancerecall",
        "treatments.view_product",
    ],
    "Receptionist": [
        "messaging.view_scheduledmessage",
        "patients.add_patient",
        "patients.archive_patient",
        "patients.change_patient",
        "patients.import_patients",
        "patients.view_patient",
        "scheduling.add_appointment",
        "scheduling.change_appointment",
        "scheduling.view_appointment",
        "scheduling.view_appointmenttype",
        "scheduling.view_practitioner",
        "scheduling.view_room",
        "treatments.change_maintenancerecall",
        "treatments.view_maintenancerecall",
    ],
    "Manager": [
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        "auth.view_user",
        "clinic.view_auditentry",
        "fhirapi.add_apitoken",
        "fhirapi.export_patient_record",
        "fhirapi.revoke_apitoken",
        "fhirapi.view_apitoken",
        "messaging.retry_scheduledmessage",
        "messaging.view_scheduledmessage",
        "patients.add_consentdocument",
        "patients.add_patient",
        "patients.archive_patient",
        "patients.change_patient",
        "patients.delete_patient",
        "patients.import_patients",
        "patients.view_consentdocument",
        "patients.view_patient",
        "reports.view_reports",
        "scheduling.add_appointmenttype",
        "scheduling.add_clinicclosure",
        "scheduling.add_practitioner",
        "scheduling.add_room",
        "scheduling.add_timeoff",
        "scheduling.add_workinghours",
        "scheduling.change_appointmenttype",
        "scheduling.change_clinicclosure",
        "scheduling.change_practitioner",
        "scheduling.change_room",
        "scheduling.change_timeoff",
        "scheduling.change_workinghours",
        "scheduling.view_appointment",
        "scheduling.view_appointmenttype",
        "scheduling.view_clinicclosure",
        "scheduling.view_practitioner",
        "scheduling.view_room",
        "scheduling.view_timeoff",
        "scheduling.view_workinghours",
        "treatments.add_batch",
        "treatments.add_ingredient",
        "treatments.add_product",
        "treatments.change_batch",
        "treatments.change_ingredient",
        "treatments.change_product",
        "treatments.recall_batch",
        "treatments.trace_batch",
        "treatments.view_batch",
        "treatments.view_ingredient",
        "treatments.view_maintenancerecall",
        "treatments.view_product",
    ],
}


def forwards(apps, schema_editor):
    sync_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("clinic", "0011_sync_role_permissions_recall_reports"),
        ("patients", "0011_history_source_reported_by_patient"),
        ("messaging", "0008_lot_recall_notice_kind"),
        ("intake", "0001_intake_questionnaire"),
        ("treatments", "0011_session_latest_first_index"),
        ("scheduling", "0005_waitlist"),
        ("fhirapi", "0001_api_tokens"),
        ("reports", "0001_report_permission"),
    ]

    # Backwards leaves the grants as they are.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
