"""Grant the maintenance recall worklist (doctors and receptionists change it, managers read
it), the closing of follow-up concerns (doctors) and the reports (managers).

A copy of clinic/roles.py's declaration as it stood when this migration was written (see
0003_sync_role_permissions.py).
"""

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
        ("clinic", "0010_audit_download_action"),
        ("patients", "0010_patient_search_words"),
        ("messaging", "0005_waitlist_offer_kind"),
        ("treatments", "0009_maintenance_recall_and_follow_up"),
        ("scheduling", "0005_waitlist"),
        ("fhirapi", "0001_api_tokens"),
        ("reports", "0001_report_permission"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
