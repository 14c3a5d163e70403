"""Grant the roles their treatment permissions: managers keep the formulary, doctors read it
and may override a blocking safety finding (with a reason). Clinical records themselves are
guarded by patients.view_clinical / patients.record_clinical, which only doctors hold."""

from django.db import migrations

from clinic.migration_helpers import grant_role_permissions, revoke_role_permissions

FORMULARY = ["ingredient", "product", "batch"]
ROLE_PERMISSIONS = {
    "Doctor": [*(f"treatments.view_{model}" for model in FORMULARY), "treatments.add_safetyoverride"],
    "Manager": [
        *(f"treatments.{action}_{model}" for model in FORMULARY for action in ("view", "add", "change")),
    ],
}


def forwards(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("treatments", "0001_initial"), ("clinic", "0002_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
