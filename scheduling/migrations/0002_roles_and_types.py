"""Grant the roles their scheduling permissions and create the default appointment types."""

from django.db import migrations

from clinic.migration_helpers import grant_role_permissions, revoke_role_permissions

DESK = [
    "scheduling.view_appointment",
    "scheduling.add_appointment",
    "scheduling.change_appointment",
    "scheduling.view_practitioner",
    "scheduling.view_room",
    "scheduling.view_appointmenttype",
]
SETUP = [
    f"scheduling.{action}_{model}"
    for model in ("practitioner", "room", "workinghours", "timeoff", "clinicclosure", "appointmenttype")
    for action in ("view", "add", "change")
]
ROLE_PERMISSIONS = {
    "Doctor": DESK,
    "Receptionist": DESK,
    # Managers see the calendars and set the clinic up (rooms, hours, types) but do not book.
    "Manager": ["scheduling.view_appointment", *SETUP],
}
DEFAULT_TYPES = [
    # name, duration, buffer after, colour, session of a course
    ("Consultation", 30, 0, "#0d6efd", False),
    ("Mesotherapy session", 45, 15, "#6f42c1", True),
    ("Review", 15, 0, "#198754", False),
]


def forwards(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)
    AppointmentType = apps.get_model("scheduling", "AppointmentType")
    for name, duration, buffer, colour, course in DEFAULT_TYPES:
        AppointmentType.objects.get_or_create(
            name=name,
            defaults={
                "duration_minutes": duration,
                "buffer_minutes": buffer,
                "colour": colour,
                "is_course_session": course,
            },
        )


def backwards(apps, schema_editor):
    revoke_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial"), ("clinic", "0002_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
