from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from messaging.models import ScheduledMessage
from messaging.selectors import messages_for_patient

register = template.Library()


@register.inclusion_tag("messaging/_patient_messages.html", takes_context=True)
def patient_messages(context, patient, limit: int = 20):
    return {"rows": list(messages_for_patient(patient)[:limit]), "perms": context.get("perms")}


Status = ScheduledMessage.Status
# Badges with no variable part, made once (a tag per row of a list, not an included template);
# constant markup.
SENT = mark_safe('<span class="badge text-bg-success">✓ Sent</span>')
SENT_TWICE = mark_safe(
    ' <span class="badge text-bg-warning" title="A worker stopped while sending it; it was sent again with the'
    ' same Message-ID.">⚠ Possibly sent twice</span>'
)
FAILED = mark_safe('<span class="badge text-bg-danger">✗ Failed</span>')
UNSUBSCRIBED = mark_safe('<span class="badge text-bg-secondary">⊘ Will not be sent: unsubscribed</span>')
CANCELLED = mark_safe('<span class="badge text-bg-secondary">– Cancelled</span>')
SENDING = mark_safe('<span class="badge text-bg-info">… Sending</span>')
PENDING = mark_safe('<span class="badge text-bg-warning">◷ Pending</span>')


@register.simple_tag
def message_status(message: ScheduledMessage) -> SafeString:
    """The status badge of an outbox email (sent possibly twice, unsubscribed: said in words)."""
    if message.status == Status.SENT:
        return format_html("{}{}", SENT, SENT_TWICE) if message.reclaims else SENT
    if message.status == Status.FAILED:
        return FAILED
    if message.closed_as_unsubscribed:
        return UNSUBSCRIBED
    if message.status == Status.CANCELLED:
        return CANCELLED
    if message.status == Status.SENDING:
        return SENDING
    return PENDING
