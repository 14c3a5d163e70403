from html import escape

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from clinic.permissions import BOOK_APPOINTMENT, VIEW_APPOINTMENT
from scheduling import selectors
from scheduling.models import Appointment

register = template.Library()

Status = Appointment.Status
# Colour is never the only signal: each status has a symbol and its name.
STATUS_STYLES = {
    Status.BOOKED: ("text-bg-light border", "◷"),
    Status.CONFIRMED: ("text-bg-primary", "✓"),
    Status.ARRIVED: ("text-bg-info", "➜"),
    Status.COMPLETED: ("text-bg-success", "✔"),
    Status.CANCELLED: ("text-bg-secondary", "✕"),
    Status.NO_SHOW: ("text-bg-warning", "!"),
}


def _status_badge(status: str, css: str, symbol: str, label: str) -> str:
    return format_html(
        '<span class="badge {} scheduling-status scheduling-status-{}"><span aria-hidden="true">{}</span> {}</span>',
        css,
        status,
        symbol,
        label,
    )


# Each status's badge, made once (a badge a row of the lists).
STATUS_BADGES = {
    status: _status_badge(status, css, symbol, status.label) for status, (css, symbol) in STATUS_STYLES.items()
}


@register.simple_tag
def status_badge(appointment) -> str:
    """The status badge of an appointment (or of a row with its ``status``)."""
    badge = STATUS_BADGES.get(appointment.status)
    if badge is None:  # a status no choice names (as get_status_display, its value is its name)
        return _status_badge(appointment.status, "text-bg-light", "?", appointment.status)
    return badge


@register.inclusion_tag("scheduling/_patient_appointments.html", takes_context=True)
def patient_appointments(context, patient):
    user = context["request"].user
    if not user.has_perm(VIEW_APPOINTMENT):
        return {"visible": False}
    can_book = user.has_perm(BOOK_APPOINTMENT) and not patient.is_archived
    # One statement for the appointments and, for who may book, the plans with sessions to book.
    appointments, plans_to_book = selectors.patient_panel(patient, with_plans=can_book)
    return {
        "visible": True,
        "patient": patient,
        "appointments": appointments,
        "can_book": can_book,
        "plans_to_book": plans_to_book,
    }


APPOINTMENT_ROW = (
    '\n    <li class="mb-1 scheduling-type-bar" data-type-colour="{}">\n      <a href="{}">{}</a>\n'
    "      · {} with {}\n      {}\n      {}\n    </li>"
)


@register.simple_tag
def patient_appointment_rows(appointments) -> SafeString:
    """The patient page's upcoming appointments (selectors.PatientAppointment), a list item
    each: when (a link to it), type, practitioner, session number, status badge; every value
    escaped as the template would (Django's escape is html.escape). Written here rather than as
    a loop in the template, which spent about 50 us a row on its variables and tag."""
    rows = [
        APPOINTMENT_ROW.format(
            escape(appointment.type_colour),
            escape(appointment.url),
            escape(appointment.when),
            escape(appointment.type_name),
            escape(appointment.practitioner),
            f"· session {int(appointment.plan_session_number)}" if appointment.plan_session_number else "",
            status_badge(appointment),
        )
        for appointment in appointments
    ]
    return mark_safe("".join(rows))  # noqa: S308 - every value in it escaped above


@register.inclusion_tag("scheduling/_plan_appointments.html", takes_context=True)
def plan_appointments(context, plan, sessions):
    """The booked sessions of a treatment plan, for its page (which only clinical staff open);
    ``sessions`` are the page's (each with ``number`` and ``is_signed``)."""
    user = context["request"].user
    if not user.has_perm(VIEW_APPOINTMENT):
        return {"visible": False}
    appointments = selectors.plan_appointments(plan)
    # Sessions given (signed) or booked count as taken.
    taken = {session.number for session in sessions if session.is_signed}
    taken |= {appointment.plan_session_number for appointment in appointments}
    return {
        "visible": True,
        "plan": plan,
        "appointments": appointments,
        "can_book": user.has_perm(BOOK_APPOINTMENT)
        and plan.is_open
        and len(taken - {None}) < plan.session_count
        and not context["patient"].is_archived,
    }
