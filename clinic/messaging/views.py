from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from clinic.messaging import selectors, services
from clinic.messaging.forms import CommunicationsFilterForm
from clinic.messaging.links import BadLink, read_token
from clinic.messaging.models import ScheduledMessage
from patients.models import Patient
from patients.services import patient_unsubscribe_emails


@require_http_methods(["GET"])
@login_required
@permission_required("messaging.retry_scheduledmessage", raise_exception=True)
def communications(request):
    form = CommunicationsFilterForm(request.GET or None)
    rows = selectors.communications()
    if form.is_bound:
        rows = selectors.communications(**form.cleaned_data) if form.is_valid() else rows.none()
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "messaging/communications.html",
        {"form": form, "page": page, "query": query.urlencode(), "counts": selectors.status_counts()},
    )


@require_POST
@login_required
@permission_required("messaging.retry_scheduledmessage", raise_exception=True)
def message_retry(request, pk: int):
    message = get_object_or_404(ScheduledMessage, pk=pk)
    if message.status != ScheduledMessage.Status.FAILED:
        messages.info(
            request, f"Only a failed message can be retried; this one is {message.get_status_display().lower()}."
        )
    else:
        services.message_retry(message=message)
        messages.success(request, f"The {message.get_kind_display().lower()} to {message.patient} will be sent again.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "messaging:communications"
    return redirect(next_url)


def _link_max_age() -> timedelta:
    return timedelta(days=settings.EMAIL_LINK_MAX_AGE_DAYS)


@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """Public page from the link in every email. GET asks, POST does it: mail scanners that
    open links must not unsubscribe anyone."""
    try:
        patient_id = read_token(token, action="unsubscribe", max_age=_link_max_age())
    except BadLink as error:
        return render(request, "messaging/link_error.html", {"error": str(error)}, status=400)
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        return render(request, "messaging/link_error.html", {"error": "This link is no longer valid."}, status=404)
    done = False
    already = patient.email_unsubscribed_at is not None
    if request.method == "POST":
        done = patient_unsubscribe_emails(patient=patient)
        already = not done
    return render(request, "messaging/unsubscribe.html", {"done": done, "already": already})
