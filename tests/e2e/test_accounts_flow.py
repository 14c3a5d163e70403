import base64
import os
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django_otp.oath import totp
from playwright.sync_api import expect

from clinic.accounts.selectors import account_history
from clinic.models import AuditEntry
from tests.e2e.conftest import login, logout
from tests.factories import ManagerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("E2E_SCREENSHOTS")  # a folder: save what the pages look like on a phone


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_manager_invites_a_receptionist_who_sets_a_password_and_enrols(live_server, page, settings):
    settings.REQUIRE_2FA = True
    manager = ManagerFactory(username="maria", first_name="Maria", last_name="Stone")
    page.set_viewport_size({"width": 390, "height": 844})

    login(page, live_server, manager)
    page.goto(f"{live_server.url}/staff/")
    page.get_by_role("link", name="Invite a staff member").click()
    page.get_by_label("Username").fill("nina")
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Last name").fill("Park")
    page.get_by_label("Email").fill("nina@clinic.example")
    page.get_by_label("Receptionist").check()
    _shot(page, "invite")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nina Park")
    expect(page.get_by_text("An invitation to set a password was sent")).to_be_visible()
    _shot(page, "staff_detail")
    page.goto(f"{live_server.url}/staff/")
    _shot(page, "staff_list")

    link = re.search(r"http://\S+/accounts/invitation/\S+/", mail.outbox[0].body).group(0)
    link = link.replace(re.match(r"http://[^/]+", link).group(0), live_server.url)
    logout(page, live_server)
    page.goto(link)
    _shot(page, "set_password")
    page.get_by_label("New password", exact=False).first.fill("a long new passphrase")
    page.get_by_label("New password confirmation").fill("a long new passphrase")
    page.get_by_role("button", name="Set my password").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor authentication")
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    _shot(page, "enrol")
    secret = page.locator("code").inner_text()
    code = totp(base64.b32decode(secret))
    page.get_by_role("textbox", name="Code").fill(f"{code:06d}")
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    _shot(page, "recovery_codes")
    page.get_by_role("link", name="I have kept them, continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
    assert set(account_history(get_user_model().objects.get(username="nina")).values_list("action", flat=True)) == {
        AuditEntry.Action.INVITE,
        AuditEntry.Action.SET_PASSWORD,
    }

    # The link worked once.
    logout(page, live_server)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work any more")
