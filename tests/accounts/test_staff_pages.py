"""Staff accounts managed in the application: who may do what, and what is recorded."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from clinic import roles
from clinic.accounts.selectors import account_history
from clinic.models import AuditEntry
from tests.factories import PASSWORD, DoctorFactory, authenticator_for

pytestmark = pytest.mark.django_db
User = get_user_model()


def _history(account):
    return list(account_history(account).values_list("action", flat=True))


def _invite(client, **overrides):
    data = {
        "username": "nina",
        "first_name": "Nina",
        "last_name": "Park",
        "email": "Nina.Park@clinic.example",
        "roles": [roles.RECEPTIONIST],
        **overrides,
    }
    return client.post(reverse("accounts:staff_invite"), data)


def _link_in(message) -> str:
    return re.search(r"http://\S+/accounts/invitation/\S+/", message.body).group(0)


# -- who may open the staff pages -------------------------------------------------------------


def test_manager_lists_staff_with_their_roles(manager_client, doctor, receptionist):
    response = manager_client.get(reverse("accounts:staff_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "dr_ada" in body
    assert "rita" in body
    assert "Receptionist" in body


@pytest.mark.parametrize("persona", ["doctor_client", "receptionist_client"])
def test_other_roles_cannot_open_staff_pages(request, persona, manager):
    client = request.getfixturevalue(persona)
    for url in (
        reverse("accounts:staff_list"),
        reverse("accounts:staff_invite"),
        reverse("accounts:staff_detail", args=[manager.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("accounts:staff_roles", args=[manager.pk]), {"roles": [roles.DOCTOR]}).status_code == 403
    assert not manager.groups.filter(name=roles.DOCTOR).exists()


def test_anonymous_is_sent_to_login(client, doctor):
    for url in (reverse("accounts:staff_list"), reverse("accounts:staff_detail", args=[doctor.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    "name", ["staff_roles", "staff_deactivate", "staff_reactivate", "staff_unlock", "staff_reset_2fa"]
)
def test_state_changes_refuse_get(manager_client, doctor, name):
    assert manager_client.get(reverse(f"accounts:{name}", args=[doctor.pk])).status_code == 405


def test_unknown_account_is_404(manager_client):
    assert manager_client.get(reverse("accounts:staff_detail", args=[999999])).status_code == 404


# -- invitations ------------------------------------------------------------------------------


def test_manager_invites_a_receptionist_who_gets_a_link(manager_client, manager):
    response = _invite(manager_client)
    account = User.objects.get(username="nina")
    assert response.status_code == 302
    assert response.url == reverse("accounts:staff_detail", args=[account.pk])
    assert not account.has_usable_password()
    assert account.email == "nina.park@clinic.example"
    assert list(account.groups.values_list("name", flat=True)) == [roles.RECEPTIONIST]
    assert not account.is_staff
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nina.park@clinic.example"]
    assert "/accounts/invitation/" in mail.outbox[0].body
    entry = AuditEntry.objects.get(action=AuditEntry.Action.INVITE)
    assert (entry.user, entry.object_id, entry.patient_id) == (manager, str(account.pk), None)


def test_invited_manager_reaches_administration(manager_client):
    _invite(manager_client, username="max", email="max@clinic.example", roles=[roles.MANAGER])
    assert User.objects.get(username="max").is_staff


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"username": "rita"}, "username", "This username is taken"),
        ({"username": "bad name!"}, "username", "Enter a valid username"),
        ({"roles": []}, "roles", "Choose at least one role."),
        ({"roles": ["Superuser"]}, "roles", "Select a valid choice"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ({"email": "rita@clinic.example"}, "email", "Another staff account has this email address"),
    ],
)
def test_invite_bad_input_names_the_problem(manager_client, receptionist, overrides, field, message):
    response = _invite(manager_client, **overrides)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not User.objects.filter(username="nina").exists()
    assert mail.outbox == []


def test_invitation_link_sets_the_password_once(manager_client, client):
    _invite(manager_client)
    account = User.objects.get(username="nina")
    link = _link_in(mail.outbox[0])
    client.logout()

    response = client.get(link)
    assert response.status_code == 302  # the token leaves the URL for the session
    form_url = response.url
    assert "set-password" in form_url
    response = client.post(
        form_url, {"new_password1": "a long new passphrase", "new_password2": "a long new passphrase"}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.check_password("a long new passphrase")
    assert AuditEntry.Action.SET_PASSWORD in _history(account)
    # Logged in, and sent to set up the second factor before anything else.
    assert client.get(reverse("home")).url.startswith(reverse("accounts:enrol"))

    client.logout()
    response = client.get(link, follow=True)
    assert "This link does not work any more" in response.content.decode()
    assert response.context["validlink"] is False


def test_invitation_link_dies_when_the_password_changed(manager_client, client):
    _invite(manager_client)
    link = _link_in(mail.outbox[0])
    account = User.objects.get(username="nina")
    account.set_password("changed by the owner somehow")
    account.save()
    client.logout()
    assert client.get(link, follow=True).context["validlink"] is False


def test_invitation_of_a_deactivated_account_does_not_work(manager_client, client):
    _invite(manager_client)
    link = _link_in(mail.outbox[0])
    account = User.objects.get(username="nina")
    manager_client.post(reverse("accounts:staff_deactivate", args=[account.pk]))
    client.logout()
    assert client.get(link, follow=True).context["validlink"] is False


def test_invitation_can_be_sent_again_until_a_password_is_set(manager_client, doctor):
    _invite(manager_client)
    account = User.objects.get(username="nina")
    response = manager_client.post(reverse("accounts:staff_invite_again", args=[account.pk]))
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    manager_client.post(reverse("accounts:staff_invite_again", args=[doctor.pk]), follow=True)
    assert len(mail.outbox) == 2  # the doctor has a password: nothing sent


def test_a_mail_server_failure_keeps_the_account_and_says_so(manager_client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = _invite(manager_client)
    assert response.status_code == 302
    page = manager_client.get(response.url)
    assert "could not be sent" in page.content.decode()
    assert User.objects.filter(username="nina").exists()


# -- roles, deactivation: never one's own, never a superuser's unless a superuser -----------


def test_manager_changes_another_users_roles(manager_client, manager, doctor):
    response = manager_client.post(
        reverse("accounts:staff_roles", args=[doctor.pk]), {"roles": [roles.DOCTOR, roles.MANAGER]}
    )
    assert response.status_code == 302
    doctor.refresh_from_db()
    assert set(doctor.groups.values_list("name", flat=True)) == {roles.DOCTOR, roles.MANAGER}
    assert doctor.is_staff
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE_ROLES)
    assert (entry.user, entry.object_id) == (manager, str(doctor.pk))

    manager_client.post(reverse("accounts:staff_roles", args=[doctor.pk]), {"roles": [roles.DOCTOR]})
    doctor.refresh_from_db()
    assert not doctor.is_staff


def test_roles_without_any_role_is_a_form_error(manager_client, doctor):
    response = manager_client.post(reverse("accounts:staff_roles", args=[doctor.pk]), {})
    assert response.status_code == 400
    assert "Choose at least one role." in response.content.decode()
    assert doctor.groups.filter(name=roles.DOCTOR).exists()


def test_manager_cannot_give_themselves_a_role(manager_client, manager):
    response = manager_client.post(
        reverse("accounts:staff_roles", args=[manager.pk]), {"roles": [roles.MANAGER, roles.DOCTOR]}
    )
    assert response.status_code == 403
    assert list(manager.groups.values_list("name", flat=True)) == [roles.MANAGER]
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.CHANGE_ROLES).exists()
    page = manager_client.get(reverse("accounts:staff_detail", args=[manager.pk])).content.decode()
    assert "Save roles" not in page
    assert "This is your account" in page


@pytest.mark.parametrize("name", ["staff_deactivate", "staff_reset_2fa", "staff_unlock"])
def test_manager_cannot_act_on_their_own_account(manager_client, manager, name):
    authenticator_for(manager)
    assert manager_client.post(reverse(f"accounts:{name}", args=[manager.pk])).status_code == 403
    manager.refresh_from_db()
    assert manager.is_active
    assert manager.totpdevice_set.exists()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("staff_roles", {"roles": [roles.RECEPTIONIST]}),
        ("staff_deactivate", {}),
        ("staff_reset_2fa", {}),
        ("staff_unlock", {}),
        ("staff_invite_again", {}),
    ],
)
def test_manager_cannot_touch_a_superuser(manager_client, superuser, name, data):
    authenticator_for(superuser)
    assert manager_client.post(reverse(f"accounts:{name}", args=[superuser.pk]), data).status_code == 403
    superuser.refresh_from_db()
    assert superuser.is_active
    assert superuser.totpdevice_set.exists()
    assert not superuser.groups.exists()


def test_manager_sees_a_superuser_read_only(manager_client, superuser):
    page = manager_client.get(reverse("accounts:staff_detail", args=[superuser.pk])).content.decode()
    assert "Only a superuser may change this account" in page
    assert "Deactivate" not in page


def test_superuser_manages_another_superuser(client, superuser):
    other = get_user_model().objects.create_superuser("root_two", "two@clinic.example", PASSWORD)
    client.force_login(superuser)
    assert client.post(reverse("accounts:staff_deactivate", args=[other.pk])).status_code == 302
    other.refresh_from_db()
    assert not other.is_active


def test_deactivated_staff_are_logged_out_and_cannot_log_in(manager_client, manager, doctor):
    doctor_client, visitor = Client(), Client()
    doctor_client.force_login(doctor)
    assert doctor_client.get(reverse("home")).status_code == 200

    assert manager_client.post(reverse("accounts:staff_deactivate", args=[doctor.pk])).status_code == 302
    assert doctor_client.get(reverse("home")).status_code == 302
    response = visitor.post(reverse("login"), {"username": doctor.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in visitor.session

    manager_client.post(reverse("accounts:staff_reactivate", args=[doctor.pk]))
    doctor.refresh_from_db()
    assert doctor.is_active
    assert _history(doctor) == [AuditEntry.Action.REACTIVATE, AuditEntry.Action.DEACTIVATE]


def test_account_page_lists_what_was_done_to_it(manager_client, doctor):
    manager_client.post(reverse("accounts:staff_roles", args=[doctor.pk]), {"roles": [roles.RECEPTIONIST]})
    manager_client.post(reverse("accounts:staff_deactivate", args=[doctor.pk]))
    body = manager_client.get(reverse("accounts:staff_detail", args=[doctor.pk])).content.decode()
    assert "Changed roles" in body
    assert "Deactivated an account" in body
    assert "Mona Hale" in body


def test_staff_list_query_count_does_not_grow(manager_client, django_assert_max_num_queries):
    for _ in range(15):
        DoctorFactory()
    with django_assert_max_num_queries(12):
        assert manager_client.get(reverse("accounts:staff_list")).status_code == 200


# -- the Django admin: no way around the staff pages ----------------------------------------


def test_manager_cannot_set_another_users_password_in_admin(manager_client, doctor):
    url = reverse("admin:auth_user_password_change", args=[doctor.pk])
    assert manager_client.get(url).status_code == 403
    response = manager_client.post(url, {"password1": "taken over 123!", "password2": "taken over 123!"})
    assert response.status_code == 403
    doctor.refresh_from_db()
    assert doctor.check_password(PASSWORD)


def test_manager_cannot_change_accounts_or_roles_in_admin(manager_client, manager):
    doctor_group = manager.groups.model.objects.get(name=roles.DOCTOR)
    response = manager_client.post(
        reverse("admin:auth_user_change", args=[manager.pk]),
        {"username": manager.username, "groups": [doctor_group.pk], "is_active": "on", "is_staff": "on"},
    )
    assert response.status_code == 403
    assert not manager.groups.filter(name=roles.DOCTOR).exists()
    response = manager_client.post(reverse("admin:auth_group_change", args=[doctor_group.pk]), {"name": "Doctor"})
    assert response.status_code == 403
    assert manager_client.get(reverse("admin:auth_user_add")).status_code == 403
    index = manager_client.get(reverse("admin:index")).content.decode()
    assert "/admin/auth/" not in index
    assert "/admin/treatments/" in index  # the formulary stays with managers


def test_manager_keeps_the_admin_sections_of_their_role(manager_client):
    assert manager_client.get(reverse("admin:scheduling_practitioner_add")).status_code == 200
    assert manager_client.get(reverse("admin:patients_consentdocument_add")).status_code == 200
    assert manager_client.get(reverse("admin:treatments_product_changelist")).status_code == 200


def test_superuser_keeps_the_user_admin(client, superuser, doctor):
    client.force_login(superuser)
    assert client.get(reverse("admin:auth_user_password_change", args=[doctor.pk])).status_code == 200
    assert client.get(reverse("admin:auth_user_add")).status_code == 200
