"""The sign-in steps no page of the fuzz world shows a form for: entering or enrolling a second
factor, accepting an invitation (its link and its password form), and the staff actions a
manager posts. Each gets every malformed value: no server error, and nothing is let through."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.accounts.passwords import PASSWORD_MAX
from clinic.accounts.services import invitation_link
from tests.conftest import login_without_second_factor
from tests.factories import UserFactory, authenticator_for
from tests.fuzz.harness import encode
from tests.fuzz.values import NASTY, PATH_IDS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("production")]
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def production(settings):
    settings.DEBUG = False


def client(**kwargs) -> Client:
    return Client(raise_request_exception=False, **kwargs)


def post(client_, path: str, pairs) -> int:
    return client_.post(path, data=encode(pairs), content_type=FORM, secure=True).status_code


def test_second_factor_codes(receptionist):
    """An authenticator's code and a recovery code, as a signed-in user who has not passed the
    second factor: a malformed code is refused, never a 500, and never verifies the session."""
    authenticator_for(receptionist)
    browser = client()
    login_without_second_factor(browser, receptionist)
    answers = {value: post(browser, reverse("accounts:verify"), [("code", value), ("next", value)]) for value in NASTY}
    assert {value: code for value, code in answers.items() if code >= 500} == {}
    # Still not verified: the calendar sends the user back to the code page.
    assert browser.get(reverse("scheduling:day"), secure=True).status_code == 302


def test_enrolling_codes(receptionist):
    browser = client()
    login_without_second_factor(browser, receptionist)
    assert browser.get(reverse("accounts:enrol"), secure=True).status_code == 200
    answers = {value: post(browser, reverse("accounts:enrol"), [("code", value)]) for value in NASTY}
    assert {value: code for value, code in answers.items() if code >= 500} == {}
    assert not TOTPDevice.objects.filter(user=receptionist, confirmed=True).exists()


def test_invitation_link_and_password(db):
    invited = UserFactory(username="new_desk", email="desk@example.org")
    invited.set_unusable_password()
    invited.save()
    link = invitation_link(invited)
    uid, token = link.rstrip("/").split("/")[-2:]
    browser = client()
    # Malformed links: a 200 saying the link does not work, or a 404; never a 500.
    for value in [*NASTY, *PATH_IDS]:
        text = value.raw.decode("utf-8", "replace").replace("/", "")[:2000] or "x"
        for path in (
            reverse("accounts:invitation", args=[text, token]),
            reverse("accounts:invitation", args=[uid, text]),
        ):
            assert browser.get(path, secure=True).status_code < 500, (value, path)
    # The real link moves the token into the session and shows the form.
    form_page = browser.get(reverse("accounts:invitation", args=[uid, token]), secure=True, follow=True)
    assert form_page.status_code == 200
    form_path = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    accepted = []
    for value in NASTY:
        answer = post(browser, form_path, [("new_password1", value), ("new_password2", value)])
        assert answer < 500, value
        if answer == 302:
            accepted.append(value)
            break
    # The password rules decide (8 to 128 characters, not common, not only digits, not like the
    # username); the link is spent by the first password accepted.
    invited.refresh_from_db()
    assert invited.has_usable_password() == bool(accepted)
    assert all(8 <= len(value.raw.decode()) <= PASSWORD_MAX for value in accepted), accepted


def test_staff_actions_with_malformed_bodies(manager, receptionist):
    browser = client()
    browser.force_login(manager)  # with the second factor (tests/conftest.py)
    for name in ("staff_roles", "staff_deactivate", "staff_reactivate", "staff_unlock", "staff_reset_2fa"):
        path = reverse(f"accounts:{name}", args=[receptionist.pk])
        for value in NASTY:
            answer = post(browser, path, [("roles", value), ("reason", value), ("next", value), ("confirm", value)])
            assert answer < 500, (name, value)
    for value in NASTY:
        pairs = [(key, value) for key in ("username", "first_name", "last_name", "email", "roles")]
        assert post(browser, reverse("accounts:staff_invite"), pairs) < 500, value
    receptionist.refresh_from_db()
    assert receptionist.groups.exists(), "a malformed roles form took the receptionist's roles away"


def test_a_password_longer_than_the_limit_is_refused(receptionist, client):
    client.force_login(receptionist)
    long = "Correct horse battery staple " * 5  # 145 characters
    answer = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": long, "new_password2": long},
        secure=True,
    )
    assert answer.status_code == 200
    assert "at most 128 characters" in answer.content.decode()
