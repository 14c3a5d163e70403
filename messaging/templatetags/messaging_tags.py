from html import escape

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from clinic.dateformats import Dates
from messaging.models import ScheduledMessage
from messaging.selectors import messages_for_patient

register = template.Library()


KIND_LABELS = dict(ScheduledMessage.Kind.choices)


@register.inclusion_tag("messaging/_patient_messages.html", takes_context=True)
def patient_messages(context, patient, limit: int = 20):
    """The patient's newest outbox emails, a table row each: kind, when due, status badge (and
    when sent). Read in one written-out statement; the dates as the date filter shows them,
    every value escaped as the template would (Django's escape is html.escape). The rows are
    written here rather than by a loop in the template, which spent about 40 us a row."""
    dates = Dates()
    rows = [
        MESSAGE_ROW.format(
            escape(str(KIND_LABELS.get(message.kind, message.kind))),
            escape(dates.day_month_year_time(message.due_at)),
            _status_badge(message.status, message.reclaims, message.closed_as_unsubscribed),
            f" {escape(dates.day_month_time(message.sent_at))}" if message.status == Status.SENT else "",
        )
        for message in messages_for_patient(patient, limit=limit)
    ]
    return {"rows": mark_safe("".join(rows)), "perms": context.get("perms")}  # noqa: S308 - escaped above


MESSAGE_ROW = "\n      <tr><td>{}</td><td>{}</td>\n        <td>{}{}</td></tr>\n    "


Status = ScheduledMessage.Status
# Badges with no variable part, made once (a tag per row of a list, not an included template);
# constant markup.
SENT = mark_safe('<span class="badge text-bg-success">✓ Sent</span>')
SENT_TWICE = mark_safe(
    ' <span class="badge text-bg-warning" title="A worker stopped while sending it; it was sent again with the'
    ' same Message-ID.">⚠ Possibly sent twice</span>'
)
SENT_WITH_WARNING = format_html("{}{}", SENT, SENT_TWICE)
FAILED = mark_safe('<span class="badge text-bg-danger">✗ Failed</span>')
UNSUBSCRIBED = mark_safe('<span class="badge text-bg-secondary">⊘ Will not be sent: unsubscribed</span>')
CANCELLED = mark_safe('<span class="badge text-bg-secondary">– Cancelled</span>')
SENDING = mark_safe('<span class="badge text-bg-info">… Sending</span>')
PENDING = mark_safe('<span class="badge text-bg-warning">◷ Pending</span>')


@register.simple_tag
def message_status(message: ScheduledMessage) -> SafeString:
    """The status badge of an outbox email (sent possibly twice, unsubscribed: said in words)."""
    return _status_badge(message.status, message.reclaims, lambda: message.closed_as_unsubscribed)


def _status_badge(status: str, reclaims: int, closed_as_unsubscribed) -> SafeString:
    # ``closed_as_unsubscribed``: a bool, or a function giving it (read only when needed).
    if status == Status.SENT:
        return SENT_WITH_WARNING if reclaims else SENT
    if status == Status.FAILED:
        return FAILED
    if closed_as_unsubscribed() if callable(closed_as_unsubscribed) else closed_as_unsubscribed:
        return UNSUBSCRIBED
    if status == Status.CANCELLED:
        return CANCELLED
    if status == Status.SENDING:
        return SENDING
    return PENDING
