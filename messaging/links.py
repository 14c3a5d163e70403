"""Signed, expiring links in patient emails (confirm, cancel, unsubscribe)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.shortcuts import render
from django.urls import reverse

SALT = "clinic.messaging.links"  # unchanged since the app moved: links already sent keep working


class BadLink(Exception):
    """The link was altered, has expired, or is for another action."""


@dataclass(frozen=True)
class Link:
    object_id: int
    # What the link was made for beyond the id (an appointment's start): the app that made
    # the link checks it still holds. None for links made without one.
    version: str | None = None


def make_token(action: str, object_id: int, *, version: str | None = None) -> str:
    payload: dict[str, object] = {"a": action, "id": object_id}
    if version is not None:
        payload["v"] = version
    return signing.dumps(payload, salt=SALT, compress=True)


def read_token(token: str, *, action: str) -> int:
    """The id a link of ``action`` was made for; BadLink when it was altered, is for another
    action, or is older than EMAIL_LINK_MAX_AGE_DAYS."""
    return read_link(token, action=action).object_id


def read_link(token: str, *, action: str) -> Link:
    """The id and version a link of ``action`` was made for; BadLink as read_token."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=timedelta(days=settings.EMAIL_LINK_MAX_AGE_DAYS))
    except signing.SignatureExpired:
        raise BadLink("This link has expired.") from None
    except signing.BadSignature:
        raise BadLink("This link is not valid. It may have been copied incompletely.") from None
    if not isinstance(payload, dict) or payload.get("a") != action or not isinstance(payload.get("id"), int):
        raise BadLink("This link is not valid for this action.")
    version = payload.get("v")
    if version is not None and not isinstance(version, str):
        raise BadLink("This link is not valid for this action.")
    return Link(object_id=payload["id"], version=version)


def linked_object(request, token: str, *, action: str, queryset, missing: str):
    """The record a signed email link points at, or the clear page that says why not: 400 for
    an altered, expired or misused link, 404 when the record is gone. Returns (record, page)."""
    try:
        object_id = read_token(token, action=action)
    except BadLink as error:
        return None, render(request, "messaging/link_error.html", {"error": str(error)}, status=400)
    record = queryset.filter(pk=object_id).first()
    if record is None:
        return None, render(request, "messaging/link_error.html", {"error": missing}, status=404)
    return record, None


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_url(patient_id: int) -> str:
    return absolute_url(reverse("messaging:unsubscribe", args=[make_token("unsubscribe", patient_id)]))
