"""Browser tests: Playwright for Python driving Debian's chromium against live_server."""

import os
import shutil

import pytest

from tests.factories import PASSWORD, authenticator_for, totp_code

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Browser tests need chromium at {CHROMIUM} (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
    # make there (factories, assertions, database flushes) are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def login(page, live_server, user) -> None:
    # The persona has an authenticator app; a code is accepted once, so a second login within
    # the same 30 seconds forgets the last one used.
    device = authenticator_for(user)
    device.last_t = -1
    device.save(update_fields=["last_t"])
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # The second factor: the code the app would show now.
    page.get_by_role("textbox", name="Code").fill(totp_code(device))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{live_server.url}/")


def logout(page, live_server) -> None:
    page.context.clear_cookies()
