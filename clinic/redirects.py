"""Redirects back to the page a form came from."""

from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def redirect_to_next(request, fallback, *args):
    """Redirect to the form's ``next`` field when it is a page of this site, else to
    ``fallback`` (a URL name with ``args``, or an object with get_absolute_url)."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback, *args)
