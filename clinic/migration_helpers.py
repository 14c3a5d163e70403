"""Helpers for data migrations that grant roles their permissions.

The roles and their permissions are declared once, in clinic/roles.py; a migration that
applies a change to that declaration calls ``sync_role_permissions``. The grant and revoke
helpers are kept for the first migrations, which production has already run.
"""

from __future__ import annotations

from collections.abc import Iterable


def ensure_permissions(apps) -> None:
    """Create the permissions of every model now, not only after the whole migrate run.

    Django creates permissions in a post_migrate handler; a data migration that grants them
    runs before that on a fresh database, so it asks for them to be created first.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def grant_role_permissions(apps, role_permissions: dict[str, list[str]]) -> None:
    ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in role_permissions.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".", 1)
            permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
            group.permissions.add(permission)


def revoke_role_permissions(apps, role_permissions: dict[str, list[str]]) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in role_permissions.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        for name in names:
            app_label, codename = name.split(".", 1)
            group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))


def sync_role_permissions(apps, role_permissions: dict[str, Iterable[str]]) -> None:
    """Make each role's permissions exactly ``role_permissions[role]``: create missing roles,
    grant missing permissions, remove any other grant. Groups not named are left alone.

    A name that matches no permission at this point of the migrations fails the migration:
    the calling migration must depend on the migration that creates its model.
    """
    ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in role_permissions.items():
        wanted = []
        for name in sorted(names):
            app_label, codename = name.split(".", 1)
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is None:
                raise LookupError(f"Role {role}: no permission {name} at this migration; add a dependency.")
            wanted.append(permission)
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(wanted)
