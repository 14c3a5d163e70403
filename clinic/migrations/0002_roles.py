"""Create the staff roles and grant them the permissions of the foundation apps."""

from django.db import migrations

from clinic.migration_helpers import grant_role_permissions, revoke_role_permissions

PATIENT_DESK = ["patients.view_patient", "patients.add_patient", "patients.change_patient"]
ROLE_PERMISSIONS = {
    "Doctor": [*PATIENT_DESK, "patients.view_clinical", "patients.record_clinical"],
    "Receptionist": [*PATIENT_DESK, "patients.archive_patient"],
    "Manager": [
        *PATIENT_DESK,
        "patients.archive_patient",
        "patients.delete_patient",
        "patients.view_consentdocument",
        "patients.add_consentdocument",
        "clinic.view_auditentry",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
    ],
}


def forwards(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_initial"),
        ("patients", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
