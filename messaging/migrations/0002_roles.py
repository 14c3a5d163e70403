from django.db import migrations

from clinic.migration_helpers import grant_role_permissions, revoke_role_permissions

ROLE_PERMISSIONS = {
    "Doctor": ["messaging.view_scheduledmessage"],
    "Receptionist": ["messaging.view_scheduledmessage"],
    "Manager": ["messaging.view_scheduledmessage", "messaging.retry_scheduledmessage"],
}


def forwards(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial"), ("clinic", "0002_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
