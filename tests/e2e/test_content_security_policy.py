"""The main pages under the real Content-Security-Policy in chromium: nothing is blocked (no
violation event, no CSP message on the console), and what moved out of the templates still
works: htmx navigation, the type colours, the print buttons, the plan's safety preview."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import ConsentRecordFactory, DoctorFactory, HistoryItemFactory, ManagerFactory, PatientFactory
from tests.scheduling.factories import AppointmentFactory, PractitionerFactory, RoomFactory, appointment_type
from tests.treatments.factories import SignedSessionFactory, TreatmentPlanFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data")]

# Runs before any script of each page (Playwright injects it outside the page's policy).
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " blocked " + (event.blockedURI || "inline"));
});
window.__printed = 0;
window.print = function () { window.__printed += 1; };
"""


@pytest.fixture
def watched_page(page):
    page.add_init_script(WATCH_VIOLATIONS)
    console: list[str] = []

    def on_console(message) -> None:
        # A failed load is reported by the response listener below, with its address; the
        # console's copy has none (the admin's missing /favicon.ico is one, harmless).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            console.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    page.on(
        "response",
        lambda response: (
            console.append(f"{response.status} for {response.url}")
            if response.status >= 400 and response.request.resource_type != "document"
            else None
        ),
    )
    page.console_problems = console
    return page


def assert_no_violation(page, where: str) -> None:
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], f"{where}: {violations}"
    # A refused eval or inline script, or htmx's own errors (evalDisallowedError...), are
    # written to the console as errors.
    assert page.console_problems == [], f"{where}: {page.console_problems}"


@pytest.fixture
def clinic(live_server):
    doctor = DoctorFactory(username="amelie", first_name="Amélie", last_name="Roux")
    practitioner = PractitionerFactory(user=doctor, default_room=RoomFactory(name="Room 1"))
    session = SignedSessionFactory(plan__consultation__doctor=doctor, plan__consultation__patient__first_name="Claire")
    plan, patient = session.plan, session.patient
    ConsentRecordFactory(patient=patient)
    HistoryItemFactory(patient=patient, recorded_by=doctor)
    today = timezone.localdate()
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time(12, 30)))
    appointment = AppointmentFactory(
        patient=patient, practitioner=practitioner, room=practitioner.default_room, starts_at=start
    )
    proposed = TreatmentPlanFactory(doctor=doctor, patient=PatientFactory(), consultation__doctor=doctor)
    return {
        "doctor": doctor,
        "practitioner": practitioner,
        "patient": patient,
        "plan": plan,
        "session": session,
        "appointment": appointment,
        "proposed": proposed,
    }


def test_the_main_pages_load_with_nothing_blocked_by_the_policy(live_server, watched_page, clinic):
    page = watched_page
    patient, plan, session = clinic["patient"], clinic["plan"], clinic["session"]
    p = f"/treatments/patients/{patient.pk}"
    pages = [
        "/",
        "/patients/",
        f"/patients/{patient.pk}/",
        f"/patients/{patient.pk}/edit/",
        f"/patients/{patient.pk}/history/",
        f"{p}/",
        f"{p}/consultations/{plan.consultation_id}/",
        f"{p}/plans/{plan.pk}/",
        f"{p}/plans/{plan.pk}/print/",
        f"{p}/plans/{plan.pk}/aftercare/",
        f"{p}/plans/{plan.pk}/photos/",
        f"{p}/sessions/{session.pk}/",
        "/treatments/formulary/",
        "/scheduling/",
        "/scheduling/today/",
        f"/scheduling/week/{clinic['practitioner'].pk}/",
        "/scheduling/find/",
        f"/scheduling/appointments/{clinic['appointment'].pk}/",
        f"/scheduling/plans/{plan.pk}/course/",
        "/accounts/password/",
    ]
    login(page, live_server, clinic["doctor"])
    for path in pages:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        assert_no_violation(page, path)

    manager = ManagerFactory(username="mona")
    page.context.clear_cookies()
    login(page, live_server, manager)
    admin_pages = ["/admin/", "/admin/clinic/auditentry/", "/admin/scheduling/appointmenttype/add/"]
    for path in ["/audit/", "/communications/", *admin_pages]:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert_no_violation(page, path)


def test_htmx_calendar_navigation_works_under_the_policy(live_server, watched_page, clinic):
    page = watched_page
    login(page, live_server, clinic["doctor"])
    page.goto(f"{live_server.url}/scheduling/")
    card = page.locator(".grid-appt").first
    expect(card).to_be_visible()
    # The type colour comes from a data attribute, set by static JS (no style attribute).
    colour = appointment_type().colour
    expected = "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))
    assert card.evaluate("element => getComputedStyle(element).borderLeftColor") == expected
    assert card.get_attribute("style") is None or "border-left-color" in card.get_attribute("style")

    page.evaluate("window.__sameDocument = true")
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with page.expect_response(re.compile(r"/scheduling/\?date=")) as partial:
        page.get_by_role("link", name=re.compile("Next day")).click()
    assert partial.value.request.headers.get("hx-request") == "true"
    expect(page).to_have_url(re.compile(rf"date={tomorrow.isoformat()}"))
    expect(page.locator("#calendar")).to_contain_text(f"{tomorrow.day}")
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, no reload
    # htmx keeps no copy of the page in localStorage (patient data must not linger there).
    assert page.evaluate("window.localStorage.getItem('htmx-history-cache')") is None

    with page.expect_response(re.compile(r"/scheduling/\?date=")):
        page.get_by_role("link", name=re.compile("Previous day")).click()
    expect(page.locator(".grid-appt").first).to_be_visible()
    # A swapped-in card is coloured too.
    # Painted by clinic.js when htmx has settled the swap (htmx.onLoad): wait for it.
    expect(page.locator(".grid-appt").first).to_have_css("border-left-color", expected)
    assert_no_violation(page, "calendar navigation")


def test_print_buttons_work_without_inline_handlers(live_server, watched_page, clinic):
    page = watched_page
    patient, plan = clinic["patient"], clinic["plan"]
    login(page, live_server, clinic["doctor"])
    for sheet in ("print", "aftercare"):
        page.goto(f"{live_server.url}/treatments/patients/{patient.pk}/plans/{plan.pk}/{sheet}/")
        page.get_by_role("button", name="Print").click()
        assert page.evaluate("window.__printed") == 1, sheet
    assert_no_violation(page, "print sheets")


def test_the_plan_safety_preview_follows_the_cocktail_without_eval(live_server, watched_page, clinic):
    """The form's refresh used an hx-trigger filter (eval); a static listener fires it now."""
    page = watched_page
    plan = clinic["plan"]
    product = plan.plan_products.first().product
    login(page, live_server, clinic["doctor"])
    page.goto(
        f"{live_server.url}/treatments/patients/{plan.patient_id}/consultations/{plan.consultation_id}/plans/new/"
    )
    with page.expect_request(re.compile(r"/plans/safety/\?")) as preview:
        page.get_by_label("Product 1", exact=True).select_option(str(product.pk))
    assert f"product_1={product.pk}" in preview.value.url
    assert "csrfmiddlewaretoken" not in preview.value.url
    assert_no_violation(page, "plan form")
