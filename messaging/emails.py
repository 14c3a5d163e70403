"""One helper renders every patient email from three templates: subject, text and HTML,
under templates/emails/<kind>/. Each kind's context comes from a builder registered by
the app that owns what the email is about.

A builder may register a ``prefetch`` beside it: given every message of its kind in a
delivery batch, it loads what they are about in a few queries and returns the records by
subject ref. The builder then reads its record with ``batch_subject`` (which loads it alone
when the message is delivered outside a batch), so a batch of 50 reminders costs the same
few queries as one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.template.loader import render_to_string


@dataclass
class EmailContent:
    """What a builder returns: template context and attachments, or ``skip`` with a reason
    when the message no longer makes sense (e.g. the appointment was cancelled)."""

    context: dict = field(default_factory=dict)
    attachments: list[tuple[str, bytes | str, str]] = field(default_factory=list)
    skip: str = ""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


Builder = Callable[["object"], EmailContent]
# Messages of one batch -> their subjects by subject ref (a ref left out: the record is gone).
Prefetch = Callable[[list], dict[str, object]]
_BUILDERS: dict[str, Builder] = {}
_PREFETCHES: dict[str, Prefetch] = {}


def register_builder(kind: str, *, prefetch: Prefetch | None = None) -> Callable[[Builder], Builder]:
    def decorator(function: Builder) -> Builder:
        _BUILDERS[kind] = function
        if prefetch is None:
            _PREFETCHES.pop(kind, None)
        else:
            _PREFETCHES[kind] = prefetch
        return function

    return decorator


def builder_for(kind: str) -> Builder | None:
    return _BUILDERS.get(kind)


def prefetch_subjects(messages: list) -> None:
    """Load the subjects of a batch's messages, one prefetch call per prefetch function (kinds
    sharing one are loaded together), and attach them to the messages for ``batch_subject``."""
    by_prefetch: dict[Prefetch, list] = {}
    for message in messages:
        prefetch = _PREFETCHES.get(message.kind)
        if prefetch is not None:
            by_prefetch.setdefault(prefetch, []).append(message)
    for prefetch, group in by_prefetch.items():
        subjects = prefetch(group)
        for message in group:
            message.batch_subjects = subjects


def batch_subject(message, load: Callable[[], object]):
    """The record ``message`` is about: from its batch's prefetch (None if it is gone), or
    ``load()`` when the message was not prefetched."""
    subjects = getattr(message, "batch_subjects", None)
    if subjects is None:
        return load()
    return subjects.get(message.subject_ref)


def base_context() -> dict:
    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_email": settings.CLINIC_EMAIL,
        "site_url": settings.SITE_URL,
    }


def render_email(kind: str, context: dict) -> RenderedEmail:
    full_context = {**base_context(), **context}
    subject = " ".join(render_to_string(f"emails/{kind}/subject.txt", full_context).split())
    text = render_to_string(f"emails/{kind}/body.txt", full_context)
    html = render_to_string(f"emails/{kind}/body.html", full_context)
    return RenderedEmail(subject=subject, text=text, html=html)
