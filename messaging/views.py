from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods, require_POST

from clinic.permissions import RETRY_MESSAGES
from clinic.redirects import redirect_to_next
from messaging import selectors, services
from messaging.forms import CommunicationsFilterForm
from messaging.links import linked_object
from messaging.models import ScheduledMessage
from patients.models import Patient


@require_http_methods(["GET"])
@login_required
@permission_required(RETRY_MESSAGES, raise_exception=True)
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
@permission_required(RETRY_MESSAGES, raise_exception=True)
def message_retry(request, pk: int):
    message = get_object_or_404(ScheduledMessage, pk=pk)
    done = redirect_to_next(request, "messaging:communications")  # decided before acting
    if message.status != ScheduledMessage.Status.FAILED:
        messages.info(
            request, f"Only a failed message can be retried; this one is {message.get_status_display().lower()}."
        )
    else:
        services.message_retry(message=message)
        messages.success(request, f"The {message.get_kind_display().lower()} to {message.patient} will be sent again.")
    return done


@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """Public page from the link in every email. GET asks, POST does it: mail scanners that
    open links must not unsubscribe anyone."""
    patient, error_page = linked_object(
        request, token, action="unsubscribe", queryset=Patient.objects.all(), missing="This link is no longer valid."
    )
    if error_page is not None:
        return error_page
    done = False
    already = patient.email_unsubscribed_at is not None
    if request.method == "POST":
        done = services.patient_unsubscribe(patient=patient)
        already = not done
    return render(request, "messaging/unsubscribe.html", {"done": done, "already": already})
