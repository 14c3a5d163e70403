"""Every page each role can open, checked with axe-core in chromium, on a desktop and a phone.

The pages come from the same table as tests/test_permissions.py (which walks every URL
pattern of the site and fails for one it does not know), so a new page is walked here as soon
as it has its row there: every page whose GET answers 200 to a role is opened as that role,
with the records that table's World builds so the pages show real content. Each page fails on
any serious or critical axe violation (WCAG 2.x A/AA and axe's best practices, at 1366x768 and
at 390x844) and, on the phone, on any horizontal overflow of the page.

axe-core (tests/e2e/vendor/axe.min.js, from the npm package, Mozilla Public License 2.0) is
used by the tests alone and is never served to users. The pages keep their strict
Content-Security-Policy while they are checked, so what is audited is what users get (a style
the policy blocks is blocked here too). The policy allows scripts from the site's own origin
only, so the test answers a request for /__axe__/axe.min.js on the live server's origin itself
(page.route) and adds axe as an ordinary same-origin <script src>: nothing is injected inline
and the policy is not bypassed.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlencode

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from scheduling.models import Appointment
from tests.e2e.conftest import login
from tests.messaging.factories import ScheduledMessageFactory
from tests.scheduling.conftest import NOW
from tests.scheduling.factories import AppointmentFactory, appointment_type
from tests.test_permissions import OK, PAGES, PERSONAS, World
from tests.treatments.factories import BatchFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data")]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_PATH = "/__axe__/axe.min.js"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
FAILING_IMPACTS = ("serious", "critical")

# Pages a GET opens that are not HTML pages, so there is nothing for axe to read (or not a page). POST-only
# endpoints need no entry: the table says their GET answers 405, so no role opens them.
NOT_HTML = {
    "scheduling:appointment_ics": "an iCalendar file (text/calendar) to download",
    "scheduling:feed": "a practitioner's iCalendar subscription feed",
    "treatments:photo_file": "a clinical photo (image file)",
    "patients:consent_signature": "the signature image (PNG) embedded in the consent page",
    "treatments:batch_recipients_csv": "a CSV download of a lot's recipients",
    "reports:csv": "a CSV download of a report",
    "healthz": "JSON for load balancers",
    # Not a page of its own: the fragment htmx swaps into the plan form (no <html>, no title).
    "treatments:plan_safety_preview": "an htmx fragment of the plan form, checked inside plan_create",
}
# Pages worth a second look in another state than the table's plain GET: the slot finder for a
# patient lists slots as booking links.
STATES = {
    "scheduling:find": (lambda world: {"patient": world.patient.pk},),
}
# The FHIR API answers application/fhir+json; its HTML pages (API tokens) are walked.
NOT_HTML_NAMESPACES = {"fhirapi": ("token_list", "token_create")}


def not_html(name: str) -> bool:
    if name in NOT_HTML:
        return True
    namespace, _, short = name.rpartition(":")
    return namespace in NOT_HTML_NAMESPACES and short not in NOT_HTML_NAMESPACES[namespace]


def pages_for(persona: str, only: list[str] | None = None) -> list[str]:
    index = PERSONAS.index(persona)
    return [
        name
        for name, page in PAGES.items()
        if page.get[index] == OK and not not_html(name) and (not only or name in only)
    ]


# Runs axe on the whole page and gives back, for each serious or critical violation, its rule
# and the elements it found (CSS selectors), with axe's summary of the first failure.
RUN_AXE = """
async (impacts) => {
  // Target size (WCAG 2.2 AA, 2.5.8) is off in axe by default; the front desk works on phones.
  const results = await axe.run(document, {resultTypes: ["violations"], rules: {"target-size": {enabled: true}}});
  return results.violations
    .filter((violation) => impacts.includes(violation.impact))
    .map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      targets: violation.nodes.slice(0, 5).map((node) => node.target.join(" ")),
      summary: (violation.nodes[0] && violation.nodes[0].failureSummary || "").split("\\n").slice(0, 3).join(" "),
    }));
}
"""
# What sticks out to the right on a phone: the page's width and the widest offenders (the
# innermost elements whose right edge passes the viewport, outside a scrolling container).
OVERFLOW = """
() => {
  const root = document.documentElement;
  if (root.scrollWidth <= root.clientWidth) return null;
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const overflow = getComputedStyle(p).overflowX;
      if (overflow === "auto" || overflow === "scroll" || overflow === "hidden") return true;
    }
    return false;
  };
  const wide = [...document.body.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 1 && !scrolls(el));
  const culprits = wide
    .filter((el) => !wide.some((other) => other !== el && el.contains(other)))
    .slice(0, 5)
    .map((el) => {
      const classes = typeof el.className === "string" ? el.className.split(/\\s+/).filter(Boolean) : [];
      return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + classes.map((name) => "." + name).join("");
    });
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, culprits};
}
"""


class Walk:
    """The records the pages show: the permissions table's World (a patient with a consent,
    history, plans, sessions, a photo, an appointment, a failed message...) and, for the day
    lists, appointments in every state a front desk sees."""

    def __init__(self, doctor):
        self.world = World(doctor)
        world = self.world
        # Every walked page's address, built once (some build their record on the way).
        self.paths = {name: self._path(name) for name in PAGES if not not_html(name) and PAGES[name].get != (405,) * 4}
        world.photo  # noqa: B018 - a plan with a photo shows the photo pages' real layout
        world.failed_message  # noqa: B018
        ScheduledMessageFactory(patient=world.patient)
        BatchFactory()  # the formulary and the session form list a batch in stock
        BatchFactory(recalled_at=NOW, recall_reason="Supplier recall")
        consultation = appointment_type("Consultation")
        for hour, status in ((11, Appointment.Status.CANCELLED), (12, Appointment.Status.ARRIVED)):
            AppointmentFactory(
                practitioner=world.practitioner,
                patient=world.patient,
                room=world.practitioner.default_room,
                appointment_type=consultation,
                starts_at=NOW.replace(hour=hour),
                status=status,
            )

    def path(self, name: str) -> str:
        return self.paths[name]

    def variants(self, name: str) -> list[str]:
        """The page as the table opens it, then in the states listed in STATES."""
        return [self.paths[name]] + [
            reverse(name) + "?" + urlencode(query(self.world)) for query in STATES.get(name, ())
        ]

    def _path(self, name: str) -> str:
        page = PAGES[name]
        path = reverse(name, args=page.args(self.world))
        if page.query:
            path += "?" + urlencode(page.query(self.world))
        return path


@pytest.fixture
def clinic_day(live_server):
    # The clinic's Monday of the scheduling tests, running: the day lists show its appointments.
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def axe_context(browser, live_server):
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London", viewport=DESKTOP)
    context.set_default_timeout(20_000)
    body = AXE.read_bytes()
    context.route(
        f"{live_server.url}{AXE_PATH}",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=body),
    )
    yield context
    context.close()


def pages_to_walk(persona: str) -> list[str]:
    # A11Y_PAGES="scheduling:day home" walks just those pages while a fix is being made.
    return pages_for(persona, os.environ.get("A11Y_PAGES", "").split())


def audit(page, live_server, walk: Walk, names: list[str]) -> list[str]:
    problems = []
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        size = f"{viewport['width']}x{viewport['height']}"
        for name, path in [(page_name, path) for page_name in names for path in walk.variants(page_name)]:
            response = page.goto(f"{live_server.url}{path}")
            where = f"{name} ({path}) at {size}"
            if response is None or response.status != OK:
                problems.append(f"{where}: answered {response and response.status}")
                continue
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/html"):
                problems.append(f"{where}: {content_type}, add it to NOT_HTML with the reason")
                continue
            page.add_script_tag(url=f"{live_server.url}{AXE_PATH}")
            for violation in page.evaluate(RUN_AXE, list(FAILING_IMPACTS)):
                problems.append(
                    f"{where}: {violation['impact']} {violation['rule']} on {violation['targets']}"
                    f" - {violation['summary']}"
                )
            if viewport is PHONE:
                overflow = page.evaluate(OVERFLOW)
                if overflow:
                    problems.append(
                        f"{where}: wider than the phone ({overflow['scrollWidth']} px > {overflow['clientWidth']} px),"
                        f" from {overflow['culprits']}"
                    )
    return problems


def assert_accessible(problems: list[str]) -> None:
    assert problems == [], f"{len(problems)} accessibility problems:\n" + "\n".join(problems)


def test_pages_every_role_can_open_pass_axe_and_fit_a_phone(
    clinic_day, axe_context, live_server, doctor, receptionist, manager
):
    walk = Walk(doctor)
    problems = []
    for persona, user in (("doctor", doctor), ("receptionist", receptionist), ("manager", manager)):
        axe_context.clear_cookies()
        page = axe_context.new_page()
        page.set_viewport_size(DESKTOP)
        login(page, live_server, user)
        problems += [f"{persona}: {problem}" for problem in audit(page, live_server, walk, pages_to_walk(persona))]
        page.close()
    assert_accessible(problems)


def test_public_pages_pass_axe_and_fit_a_phone(clinic_day, axe_context, live_server, doctor):
    walk = Walk(doctor)
    page = axe_context.new_page()
    assert_accessible(audit(page, live_server, walk, pages_to_walk("anonymous")))


def test_the_walk_covers_every_html_page():
    """The walk is the table: a page with a GET answered to some role is either walked or
    named in NOT_HTML with its reason."""
    walked = {name for persona in PERSONAS for name in pages_for(persona)}
    assert {"home", "scheduling:today", "scheduling:day", "messaging:communications", "fhirapi:token_list"} <= walked
    assert {"login", "messaging:unsubscribe", "scheduling:public_cancel"} <= set(pages_for("anonymous"))
    assert set(NOT_HTML) <= set(PAGES), "NOT_HTML names a page that no longer exists"


def test_axe_finds_a_violation(clinic_day, axe_context, live_server):
    """The audit is not blind: an unlabelled field and low-contrast text are reported."""
    page = axe_context.new_page()
    page.goto(f"{live_server.url}{reverse('login')}")
    page.evaluate(
        """() => {
          const field = document.createElement("input");
          field.type = "text";
          const faint = document.createElement("p");
          faint.textContent = "Faint";
          faint.style.color = "#ccc";
          document.querySelector("main").append(field, faint);
        }"""
    )
    page.add_script_tag(url=f"{live_server.url}{AXE_PATH}")
    rules = {violation["rule"] for violation in page.evaluate(RUN_AXE, list(FAILING_IMPACTS))}
    assert {"label", "color-contrast"} <= rules
    assert timezone.now() >= NOW


def focus_ring(page) -> dict:
    return page.evaluate(
        """() => {
          const style = getComputedStyle(document.activeElement);
          return {style: style.outlineStyle, width: style.outlineWidth, colour: style.outlineColor,
                  halo: style.boxShadow, tag: document.activeElement.tagName};
        }"""
    )


def test_keyboard_focus_shows_a_dark_ring_with_a_white_halo(clinic_day, axe_context, live_server):
    """axe does not judge focus: the ring is checked here, on a field and a button reached with
    Tab (a near-black ring, 21:1 on white, with a white halo for dark backgrounds)."""
    page = axe_context.new_page()
    page.emulate_media(reduced_motion="reduce")  # Bootstrap then draws focus without a transition
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").focus()
    page.keyboard.press("Tab")
    ring = focus_ring(page)
    assert ring["tag"] == "INPUT"
    assert (ring["style"], ring["width"], ring["colour"]) == ("solid", "3px", "rgb(11, 12, 12)")
    assert "rgb(255, 255, 255)" in ring["halo"]
    page.keyboard.press("Tab")
    ring = focus_ring(page)
    assert ring["tag"] == "BUTTON"
    assert (ring["style"], ring["width"], ring["colour"]) == ("solid", "3px", "rgb(11, 12, 12)")


def test_check_in_is_on_screen_and_big_enough_on_a_phone(clinic_day, axe_context, live_server, doctor, receptionist):
    """The front desk's today list on a 390 px phone: one card per appointment, and its Check in
    button inside the screen and at least 24 px tall."""
    Walk(doctor)
    page = axe_context.new_page()
    login(page, live_server, receptionist)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}{reverse('scheduling:today')}")
    button = page.get_by_role("button", name="Check in").first
    box = button.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] >= 24
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
