"""The waiting list pages: the front desk's list (with the offers sent and who took them),
adding a patient, taking one off, and the patient's public "take this slot" page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic import dates
from clinic.forms import add_service_errors, service_error_text
from clinic.permissions import BOOK_APPOINTMENT, CHANGE_APPOINTMENT, VIEW_APPOINTMENT
from messaging.links import linked_object
from patients.access import get_patient_for, require_perm
from scheduling.access import get_waitlist_entry_for
from scheduling.models import WaitlistOffer
from scheduling.waitlist import selectors, services
from scheduling.waitlist.emails import CLAIM_ACTION
from scheduling.waitlist.forms import WaitlistAddForm

ENTRIES_PER_PAGE = 50
OFFERS_SHOWN = 100


@require_GET
@login_required
def waitlist(request):
    require_perm(request.user, VIEW_APPOINTMENT)
    page = Paginator(selectors.waiting_entries(), ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "scheduling/waitlist/list.html",
        {
            "page": page,
            "offers": list(selectors.recent_offers()[:OFFERS_SHOWN]),
            "recent_days": selectors.RECENT_OFFER_DAYS,
            "can_change": request.user.has_perm(CHANGE_APPOINTMENT),
            "notice": services.min_notice_text(),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def waitlist_add(request):
    require_perm(request.user, BOOK_APPOINTMENT)
    raw = request.POST.get("patient") if request.method == "POST" else request.GET.get("patient")
    if not raw:
        # The patient is chosen on their own page ("Add to the waiting list").
        return render(request, "scheduling/waitlist/add.html", {"form": None, "patient": None})
    patient_id = dates.parse_id(raw)
    if patient_id is None:
        raise Http404("No such patient.")
    patient = get_patient_for(request.user, patient_id)
    form = WaitlistAddForm(
        request.POST if request.method == "POST" else None, initial=WaitlistAddForm.initial_for(patient.pk)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.waitlist_add(
                patient=data["patient"], appointment_type=data["appointment_type"], practitioner=data["practitioner"],
                date_from=data["date_from"], date_to=data["date_to"], window_start=data["window_start"],
                window_end=data["window_end"], weekdays=data["weekdays"], notes=data["notes"], added_by=request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{patient} is on the waiting list: freed slots that fit are offered by email.")
            return redirect("scheduling:waitlist")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "scheduling/waitlist/add.html",
        {"form": form, "patient": patient, "notice": services.min_notice_text()},
        status=status,
    )


@require_POST
@login_required
def waitlist_remove(request, pk: int):
    entry = get_waitlist_entry_for(request.user, pk, perm=CHANGE_APPOINTMENT)
    try:
        services.waitlist_remove(entry=entry, removed_by=request.user)
    except ValidationError as error:
        messages.error(request, service_error_text(error))
    else:
        messages.success(request, f"{entry.patient} was taken off the waiting list.")
    return redirect("scheduling:waitlist")


# The link in the offer email (public) -----------------------------------------------------


@require_http_methods(["GET", "POST"])
@never_cache
def waitlist_claim(request, token: str):
    """GET shows the offer, POST takes the slot: a mail scanner opening the link books nothing."""
    offer, error_page = linked_object(
        request, token, action=CLAIM_ACTION,
        queryset=WaitlistOffer.objects.select_related("entry", "patient", "practitioner__user", "appointment_type"),
        missing="This offer no longer exists.",
    )  # fmt: skip
    if error_page is not None:
        return error_page
    outcome, status = _offer_state(offer), 200
    if request.method == "POST" and outcome == "open":
        try:
            services.waitlist_claim(offer=offer)
        except services.OfferUnavailable as error:
            outcome = error.reason
            offer.refusal = service_error_text(error)
        else:
            outcome = "claimed"
        offer.refresh_from_db()
    if outcome in {"taken", "closed", "unbookable"}:
        status = 409
    elif outcome == "expired":
        status = 410
    return render(request, "scheduling/waitlist/claim.html", {"offer": offer, "outcome": outcome}, status=status)


def _offer_state(offer: WaitlistOffer) -> str:
    """What the page says before any POST: "mine" (already taken by this patient), "closed",
    "expired", "taken" or "open"."""
    if offer.is_claimed:
        return "mine"
    if not offer.entry.is_waiting:
        return "closed"
    if timezone.now() >= offer.expires_at:
        return "expired"
    if services.slot_is_taken(offer):
        return "taken"
    return "open"
