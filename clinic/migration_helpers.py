"""Helpers for data migrations that grant roles their permissions."""

from __future__ import annotations


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
