"""The roles' grants in the database are exactly the declaration of clinic/roles.py.

The test database is built by the migrations, so a change to ROLE_PERMISSIONS without the
migration that applies it (clinic/roles.py says how) fails here.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from clinic import permissions, roles
from clinic.migration_helpers import sync_role_permissions

pytestmark = pytest.mark.django_db


def granted(role: str) -> set[str]:
    rows = Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename")
    return {f"{app_label}.{codename}" for app_label, codename in rows}


def migrated_apps():
    """The models as the latest migrations leave them (what a data migration is given)."""
    loader = MigrationExecutor(connection).loader
    return loader.project_state(loader.graph.leaf_nodes()).apps


def test_every_role_is_declared():
    assert set(roles.ROLE_PERMISSIONS) == set(roles.ALL_ROLES)


@pytest.mark.parametrize("role", roles.ALL_ROLES)
def test_database_grants_match_the_declaration(role):
    hint = "add a clinic migration that calls sync_role_permissions with the new declaration (clinic/roles.py)"
    assert sorted(roles.ROLE_PERMISSIONS[role] - granted(role)) == [], f"{role} lacks these grants: {hint}"
    assert sorted(granted(role) - roles.ROLE_PERMISSIONS[role]) == [], f"{role} holds extra grants: {hint}"


def test_every_permission_name_exists():
    """A typo in a name would be a permission nobody holds: has_perm answers False silently."""
    names = {value for name, value in vars(permissions).items() if name.isupper()}
    existing = {
        f"{app_label}.{codename}"
        for app_label, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    assert names - existing == set()
    assert set().union(*roles.ROLE_PERMISSIONS.values()) <= names


def test_sync_adds_missing_and_removes_extra_grants():
    doctor = Group.objects.get(name=roles.DOCTOR)
    doctor.permissions.remove(Permission.objects.get(codename="view_clinical"))
    doctor.permissions.add(Permission.objects.get(codename="delete_patient"))
    custom = Group.objects.create(name="Night shift")
    custom.permissions.add(Permission.objects.get(codename="view_patient"))
    Group.objects.get(name=roles.MANAGER).delete()

    sync_role_permissions(migrated_apps(), roles.ROLE_PERMISSIONS)

    for role in roles.ALL_ROLES:
        assert granted(role) == roles.ROLE_PERMISSIONS[role]
    assert granted("Night shift") == {permissions.VIEW_PATIENT}  # groups not declared are left alone


def test_sync_refuses_a_permission_that_does_not_exist():
    with pytest.raises(LookupError, match=r"no permission patients\.view_secrets"):
        sync_role_permissions(migrated_apps(), {roles.DOCTOR: {"patients.view_secrets"}})
    assert permissions.VIEW_CLINICAL in granted(roles.DOCTOR)  # nothing half-applied
