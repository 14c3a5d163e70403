"""Redirects back to the page a form came from.

The ``next`` a form carries is typed by nobody but can be changed by anybody, so it is used
only when it is a path of this site that one of its pages answers; anything else (another
host, ``//host``, a backslash, a control character, a space, non-ASCII or undecodable bytes,
``javascript:``, a path no page answers, more than ``NEXT_MAX`` characters) falls back to the
view's own page. Nothing here raises: the redirect after an action that has happened is
never an error page.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import Resolver404, get_script_prefix, resolve
from django.utils.http import url_has_allowed_host_and_scheme

NEXT_MAX = 2_000


def safe_next(request: HttpRequest, target: object) -> str:
    """``target`` when it is a page of this site to send the browser back to, else ""."""
    if not isinstance(target, str) or not 1 <= len(target) <= NEXT_MAX:
        return ""
    # Our own ``next`` values are request.get_full_path(): printable ASCII, percent-encoded.
    if not target.isascii() or not target.isprintable() or " " in target or "\\" in target:
        return ""
    if not target.startswith("/") or target.startswith("//"):
        return ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    try:
        path = unquote(urlsplit(target).path, errors="strict")
    except (ValueError, UnicodeDecodeError):
        return ""
    if not path.isprintable():
        return ""
    prefix = get_script_prefix()
    if not path.startswith(prefix):
        return ""
    try:
        resolve("/" + path[len(prefix) :])
    except (Resolver404, ValueError):
        return ""
    return target


def next_from(request: HttpRequest, *, get: bool = False) -> str:
    """The request's safe ``next`` (from the POST, or with ``get`` also the query), or ""."""
    target = request.POST.get("next", "")
    if not target and get:
        target = request.GET.get("next", "")
    return safe_next(request, target)


def redirect_to_next(request: HttpRequest, fallback, *args) -> HttpResponseRedirect:
    """Redirect to the form's ``next`` field when it is a page of this site, else to
    ``fallback`` (a URL name with ``args``, a path, or an object with get_absolute_url).
    A view may build it before acting: it depends only on the request."""
    target = next_from(request)
    return HttpResponseRedirect(target or resolve_url(fallback, *args))
