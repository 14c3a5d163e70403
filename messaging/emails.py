"""One helper renders every patient email from three templates: subject, text and HTML,
under templates/emails/<kind>/. Each kind's context comes from a builder registered by
the app that owns what the email is about."""

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
_BUILDERS: dict[str, Builder] = {}


def register_builder(kind: str) -> Callable[[Builder], Builder]:
    def decorator(function: Builder) -> Builder:
        _BUILDERS[kind] = function
        return function

    return decorator


def builder_for(kind: str) -> Builder | None:
    return _BUILDERS.get(kind)


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
