"""The staff backend reads a user, their permissions, role names and confirmed devices in one
statement, and answers exactly what Django's ModelBackend, the groups and the devices say."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.accounts.backends import StaffBackend
from clinic.roles import RECEPTIONIST, roles_of
from tests.factories import UserFactory, authenticator_for

pytestmark = pytest.mark.django_db


def fresh(user):
    """The user as the next request loads it: no per-request caches."""
    return get_user_model().objects.get(pk=user.pk)


@pytest.mark.parametrize("persona", ["doctor", "receptionist", "manager"])
def test_permissions_and_roles_match_django(persona, request):
    user = request.getfixturevalue(persona)
    assert StaffBackend().get_all_permissions(fresh(user)) == ModelBackend().get_all_permissions(fresh(user))
    assert roles_of(fresh(user)) == frozenset(user.groups.values_list("name", flat=True))


def test_a_direct_grant_and_a_second_group_count(receptionist):
    extra = Permission.objects.get(codename="view_auditentry")
    receptionist.user_permissions.add(extra)
    second = Group.objects.create(name="Night desk")
    second.permissions.add(Permission.objects.get(codename="delete_patient"))
    receptionist.groups.add(second)
    granted = StaffBackend().get_all_permissions(fresh(receptionist))
    assert {"clinic.view_auditentry", "patients.delete_patient"} <= granted
    assert granted == ModelBackend().get_all_permissions(fresh(receptionist))
    assert "Night desk" in roles_of(fresh(receptionist))


def test_one_statement_for_permissions_and_roles(receptionist, django_assert_num_queries):
    user = fresh(receptionist)
    with django_assert_num_queries(1):
        roles_of(user)
        assert user.has_perm("patients.view_patient")
        assert not user.has_perm("treatments.add_consultation")
        user.get_all_permissions()


def test_inactive_users_and_superusers_as_django_says(receptionist):
    receptionist.is_active = False
    receptionist.save()
    assert StaffBackend().get_all_permissions(fresh(receptionist)) == set()
    root = get_user_model().objects.create_superuser("root_sam", "root@example.org", "x" * 20)
    assert StaffBackend().get_all_permissions(fresh(root)) == ModelBackend().get_all_permissions(fresh(root))


def test_get_user_reads_the_user_permissions_roles_and_devices_in_one_statement(
    receptionist, django_assert_num_queries
):
    device = authenticator_for(receptionist)
    TOTPDevice.objects.create(user=receptionist, name="Not confirmed yet", confirmed=False)
    someone_else = authenticator_for(UserFactory(username="other_desk"))
    with django_assert_num_queries(1):
        user = StaffBackend().get_user(receptionist.pk)
        assert user == receptionist
        assert user.username == receptionist.username
        assert user.has_perm("patients.view_patient")
        assert not user.has_perm("treatments.add_consultation")
        assert roles_of(user) == frozenset({RECEPTIONIST})
        assert user.confirmed_devices == frozenset({device.persistent_id})
    assert someone_else.persistent_id not in user.confirmed_devices
    assert user.get_all_permissions() == ModelBackend().get_all_permissions(fresh(receptionist))
    assert not user._state.adding  # a saved user, as the ORM would load it
    user.first_name = "Renamed"
    user.save()
    assert fresh(receptionist).first_name == "Renamed"


def test_get_user_refuses_whom_django_refuses(receptionist):
    assert StaffBackend().get_user(receptionist.pk + 1000) is None
    assert StaffBackend().get_user("not a number") is None
    receptionist.is_active = False
    receptionist.save()
    assert StaffBackend().get_user(receptionist.pk) is None


def test_a_superuser_is_loaded_with_every_permission(superuser):
    user = StaffBackend().get_user(superuser.pk)
    assert user.is_superuser
    assert user.has_perm("patients.delete_patient")
    assert user.get_all_permissions() == ModelBackend().get_all_permissions(fresh(superuser))
