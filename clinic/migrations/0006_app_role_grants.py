"""Grant the application's database role its privileges (clinic/dbroles.py).

Runs only when that role exists; on a database migrated before the role was created, run
``manage.py grant_app_role`` once.
"""

from django.conf import settings
from django.db import migrations

from clinic.dbroles import app_role_exists, grant_app_role


def forwards(apps, schema_editor):
    role = settings.DATABASE_APP_ROLE
    if role and app_role_exists(schema_editor.connection, role):
        grant_app_role(schema_editor.connection, role)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0005_audit_chain")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
