"""Calendars, the slot finder, booking and the appointment page. Function views: parse a
form, call a service, render or redirect. Objects are loaded through scheduling.access."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic import dateformats, dates
from clinic import views as clinic_views
from clinic.audit import audit_search
from clinic.forms import add_service_errors, service_error_text
from clinic.localtime import day_bounds
from clinic.permissions import BOOK_APPOINTMENT, CHANGE_APPOINTMENT, VIEW_APPOINTMENT, VIEW_CLINICAL
from clinic.redirects import redirect_to_next
from messaging.links import linked_object, read_link
from patients.access import get_patient_for, require_perm
from patients.selectors import patient_search
from scheduling import availability, grid, selectors, services
from scheduling.access import (
    can_manage_feed,
    can_see_clinical,
    get_appointment_for,
    get_feed_practitioner_for,
    get_plan_for_booking,
    get_practitioner_for,
)
from scheduling.emails import CANCEL_ACTION, CONFIRM_ACTION, RECALL_BOOK_ACTION, cancel_deadline, link_is_current
from scheduling.forms import (
    MAX_SLOTS_SHOWN,
    SLOTS_PER_PAGE,
    BookForm,
    CancelForm,
    CourseForm,
    DayForm,
    GridCellForm,
    GridDayForm,
    MoveForm,
    RecallSlotForm,
    SlotChoiceForm,
    SlotSearchForm,
    parse_instant,
)
from scheduling.ics import appointment_ics, practitioner_feed
from scheduling.models import Appointment, AppointmentType, Practitioner, Room
from scheduling.services import RecallAlreadyBooked, SlotTaken
from treatments.models import MaintenanceRecall, TreatmentPlan

CHOOSE_PATIENT_MATCHES = 20
# What models.new_feed_token makes (URL-safe base64), within the column's 64 characters.
FEED_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _calendar_day(request, form: DayForm) -> tuple[date, int]:
    """The day a calendar shows and the page's status: ``?date=`` or today. A date that does
    not exist or lies outside the calendars' range (clinic/dates.py) shows today with the
    reason, as a 400; a malformed ``move`` is no such appointment."""
    if form.is_valid():
        return form.cleaned_data["date"] or timezone.localdate(), 200
    if "move" in form.errors:
        raise Http404("No such appointment.")
    for message in form.errors.get("date", []):
        messages.error(request, message)
    return timezone.localdate(), 400


def _is_htmx(request) -> bool:
    # A history restore (back button after a cache miss) needs the whole page.
    return request.headers.get("HX-Request") == "true" and "HX-History-Restore-Request" not in request.headers


def _show_refusal(form, error: ValidationError) -> list[availability.Slot]:
    """Put a booking's or a move's refusal on the form; the free times to offer instead when
    the time was taken."""
    add_service_errors(form, error)
    return error.alternatives if isinstance(error, SlotTaken) else []


# Calendars ------------------------------------------------------------------------------


def _page_to_return_to(request, fallback: str) -> str:
    """Where a grid's panel sends its forms back to: the grid page it was opened from (htmx
    says which), else ``fallback``."""
    current = request.headers.get("HX-Current-URL", "")
    if current and url_has_allowed_host_and_scheme(current, allowed_hosts={request.get_host()}):
        parts = urlsplit(current)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return fallback


def _grid_context(label: str) -> dict:
    lunch_start, lunch_end = availability.lunchtime()
    return {
        "grid_label": label,
        "lunch_text": f"{lunch_start:%H:%M}–{lunch_end:%H:%M}",
        "move_prefix": grid.Links.for_page().appointment,
    }


def _day_url(day: date) -> str:
    return f"{reverse('scheduling:day')}?date={day:%Y-%m-%d}"


def _day_page(request, *, home: bool = False):
    form = GridDayForm(request.GET)
    day, status = _calendar_day(request, form)
    moving = None
    if form.cleaned_data.get("move") and request.user.has_perm(CHANGE_APPOINTMENT):
        moving = get_appointment_for(request.user, form.cleaned_data["move"], perm=CHANGE_APPOINTMENT)
        if not moving.is_open:
            messages.error(request, "Only a booked or confirmed appointment can be moved.")
            moving = None
    can_book, can_change = request.user.has_perm(BOOK_APPOINTMENT), request.user.has_perm(CHANGE_APPOINTMENT)
    if moving is None:
        day_grid = grid.rendered_day_grid(day, can_book=can_book, can_change=can_change)
    else:
        day_grid = grid.day_grid(day, moving=moving)
        day_grid.render(can_book=can_book, can_change=can_change, moving=True)
    context = {
        "day": day,
        "day_text": dateformats.weekday_day_month_name_year(day),
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "today": timezone.localdate(),
        "grid": day_grid,
        "moving": moving,
        "return_url": _day_url(day),
        "can_book": can_book,
        "can_change": can_change,
        "home": home,
        **_grid_context(f"Calendar of {day:%A %d %B}: a column per practitioner"),
    }
    template = "scheduling/_day_grid.html" if _is_htmx(request) else "scheduling/day.html"
    return render(request, template, context, status=status)


@require_GET
@login_required
def calendar_day(request):
    require_perm(request.user, VIEW_APPOINTMENT)
    return _day_page(request)


@require_GET
@login_required
def home(request):
    """The front desk lands on today's grid; everyone else on the start page."""
    user = request.user
    if user.has_perm(BOOK_APPOINTMENT) and not user.has_perm(VIEW_CLINICAL):
        return _day_page(request, home=True)
    return clinic_views.home(request)


@require_GET
@login_required
def calendar_rooms(request):
    require_perm(request.user, VIEW_APPOINTMENT)
    day, status = _calendar_day(request, DayForm(request.GET))
    room_grid = grid.room_grid(day)
    room_grid.render(can_book=False, can_change=False)
    context = {
        "day": day,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "today": timezone.localdate(),
        "grid": room_grid,
        **_grid_context(f"Rooms on {day:%A %d %B}: a column per room"),
    }
    template = "scheduling/_room_grid.html" if _is_htmx(request) else "scheduling/rooms.html"
    return render(request, template, context, status=status)


@require_GET
@login_required
def calendar_week(request, pk: int):
    practitioner = get_practitioner_for(request.user, pk)
    day, status = _calendar_day(request, DayForm(request.GET))
    monday = day - timedelta(days=day.weekday())
    context = {
        "practitioner": practitioner,
        "monday": monday,
        "monday_text": dateformats.day_month_name_year(monday),
        "previous_week": monday - timedelta(days=7),
        "next_week": monday + timedelta(days=7),
        "today": timezone.localdate(),
        "now": timezone.now(),
        "can_manage_feed": can_manage_feed(request.user, practitioner),
        "can_book": request.user.has_perm(BOOK_APPOINTMENT),
        "can_change": request.user.has_perm(CHANGE_APPOINTMENT),
        "return_url": f"{reverse('scheduling:week', args=[practitioner.pk])}?date={monday:%Y-%m-%d}",
        **_grid_context(f"Week of {practitioner.name}: a column per day"),
    }
    context["grid"] = grid.rendered_week_grid(
        practitioner, monday, can_book=context["can_book"], can_change=context["can_change"]
    )
    if context["can_manage_feed"]:
        context["feed_url"] = request.build_absolute_uri(reverse("scheduling:feed", args=[practitioner.feed_token]))
    template = "scheduling/_week_grid.html" if _is_htmx(request) else "scheduling/week.html"
    return render(request, template, context, status=status)


@require_GET
@login_required
def today(request):
    require_perm(request.user, VIEW_APPOINTMENT)
    day = timezone.localdate()
    appointments = list(selectors.appointments_between(*day_bounds(day)))
    return render(
        request,
        "scheduling/today.html",
        {"day": day, "now": timezone.now(), "appointments": appointments},
    )


# Finding and booking --------------------------------------------------------------------


@dataclass(frozen=True)
class SlotPage:
    """What the finder shows of a search: the slots, whether there are more, and the days
    they cover (the whole search when all were shown, up to the last slot's day if not)."""

    slots: list[availability.Slot]
    more: bool
    searched_from: date
    searched_to: date
    more_query: str = ""

    @property
    def covered_to(self) -> date:
        return self.slots[-1].local_start.date() if self.more and self.slots else self.searched_to


def _slot_page(query: dict, *, wanted: int, date_from: date, date_to: date, **search) -> SlotPage:
    # One more than shown says whether there are more, at no extra query.
    found = availability.find_slots(date_from=date_from, date_to=date_to, limit=wanted + 1, **search)
    more = len(found) > wanted
    more_query = ""
    if more and wanted < MAX_SLOTS_SHOWN:
        more_query = urlencode({**query, "shown": min(wanted + SLOTS_PER_PAGE, MAX_SLOTS_SHOWN)})
    return SlotPage(found[:wanted], more, date_from, date_to, more_query)


@require_GET
@login_required
def slot_finder(request):
    require_perm(request.user, VIEW_APPOINTMENT)
    patient = None
    if (patient_id := dates.id_param(request.GET, "patient")) is not None:
        patient = get_patient_for(request.user, patient_id)
    searched = "appointment_type" in request.GET
    form = SlotSearchForm(
        request.GET if searched else None, initial=SlotSearchForm.initial_for(getattr(patient, "pk", None))
    )
    page: SlotPage | None = None
    appointment_type = None
    if searched and form.is_valid():
        data = form.cleaned_data
        appointment_type = data["appointment_type"]
        window_start, window_end = form.window_times
        query = {key: value for key, value in request.GET.items() if key != "shown"}
        page = _slot_page(
            query, wanted=form.slots_wanted, appointment_type=appointment_type, date_from=data["date_from"],
            date_to=data["date_to"], window_start=window_start, window_end=window_end,
            practitioner=data["practitioner"], patient=patient,
        )  # fmt: skip
    elif not searched:
        # Straight from the patient's page: the next free lunchtime slots, no extra click.
        initial = form.initial
        appointment_type = AppointmentType.objects.filter(pk=initial["appointment_type"]).first()
        if appointment_type is not None:
            lunch_start, lunch_end = availability.lunchtime()
            query = {key: "" if value is None else value for key, value in initial.items()}
            page = _slot_page(
                query, wanted=SLOTS_PER_PAGE, appointment_type=appointment_type, date_from=initial["date_from"],
                date_to=initial["date_to"], window_start=lunch_start, window_end=lunch_end, patient=patient,
            )  # fmt: skip
    can_book = request.user.has_perm(BOOK_APPOINTMENT)
    return render(
        request,
        "scheduling/slot_finder.html",
        {
            "form": form,
            "patient": patient,
            "page": page,
            "slots": page.slots if page else [],
            "appointment_type": appointment_type,
            "can_book": can_book,
            "book_patient": patient if can_book else None,
        },
    )


@require_GET
@login_required
def book_choose_patient(request):
    """The step between a slot picked without a patient and the booking: find the patient."""
    require_perm(request.user, BOOK_APPOINTMENT)
    form = SlotChoiceForm(request.GET)
    if not form.is_valid() or form.has_error("q"):
        return render(request, "scheduling/book_choose_patient.html", {"form": form, "patients": []}, status=400)
    data = form.cleaned_data
    query = data["q"].strip()
    patients = []
    if query:
        audit_search(request, query=query)
        patients = list(patient_search(query)[:CHOOSE_PATIENT_MATCHES])
    slot = {
        "practitioner": data["practitioner"].pk,
        "appointment_type": data["appointment_type"].pk,
        "room": data["room"].pk if data["room"] else "",
        "start": data["start"].isoformat(),
    }
    return render(
        request,
        "scheduling/book_choose_patient.html",
        {
            "form": form,
            "query": query,
            "patients": patients,
            "slot_query": urlencode(slot),
            "practitioner": data["practitioner"],
            "appointment_type": data["appointment_type"],
            "starts_at": data["start"],
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def book(request):
    require_perm(request.user, BOOK_APPOINTMENT)
    form = BookForm(request.POST if request.method == "POST" else request.GET)
    alternatives: list[availability.Slot] = []
    if not form.is_valid():
        return render(request, "scheduling/book.html", {"form": form, "alternatives": []}, status=400)
    data = form.cleaned_data
    get_patient_for(request.user, data["patient"].pk)
    if request.method == "POST":
        try:
            appointment = services.appointment_book(
                patient=data["patient"], practitioner=data["practitioner"], appointment_type=data["appointment_type"],
                starts_at=data["start"], room=data["room"], booked_by=request.user, notes=data["notes"],
            )  # fmt: skip
        except ValidationError as error:
            alternatives = _show_refusal(form, error)
        else:
            local = timezone.localtime(appointment.starts_at)
            messages.success(
                request,
                f"Booked: {appointment.appointment_type.name} for {appointment.patient} on "
                f"{local:%A %d %B at %H:%M} with {appointment.practitioner.name}.",
            )
            return redirect_to_next(request, appointment)
    context = {
        "form": form,
        "next": request.POST.get("next", "") if request.method == "POST" else "",
        "patient": data["patient"],
        "practitioner": data["practitioner"],
        "appointment_type": data["appointment_type"],
        "room": data["room"],
        "starts_at": data["start"],
        "ends_at": data["start"] + data["appointment_type"].duration,
        "alternatives": alternatives,
    }
    return render(request, "scheduling/book.html", context)


@require_GET
@login_required
def grid_book(request):
    """A free cell of a grid, clicked: find the patient and book there (the form posts to
    ``book``, which gives the booking service's answer, "just taken" included)."""
    require_perm(request.user, BOOK_APPOINTMENT)
    form = GridCellForm(request.GET)
    template = "scheduling/_grid_book_panel.html" if _is_htmx(request) else "scheduling/grid_book.html"
    if not form.is_valid():
        return render(request, template, {"form": form}, status=400)
    data = form.cleaned_data
    query = data["q"].strip()
    patients = []
    if query:
        audit_search(request, query=query)
        patients = list(patient_search(query)[:8])
    types = list(AppointmentType.objects.filter(is_active=True).order_by("name"))
    local_start = timezone.localtime(data["start"])
    context = {
        "form": form,
        "practitioner": data["practitioner"],
        "starts_at": data["start"],
        "start_iso": request.GET.get("start", ""),
        "free": data["free"],
        "query": query,
        "patients": patients,
        "types": types,
        "chosen_type": grid.preselected_type(types, data["free"]),
        "rooms": list(Room.objects.filter(is_active=True).order_by("name")),
        "return_url": _page_to_return_to(request, _day_url(local_start.date())),
    }
    return render(request, template, context)


# One appointment ------------------------------------------------------------------------


@require_GET
@login_required
def appointment_detail(request, pk: int):
    appointment = get_appointment_for(request.user, pk)
    context = {
        "appointment": appointment,
        "changes": appointment.changes.select_related("changed_by", "old_practitioner__user", "new_practitioner__user"),
        "cancel_form": CancelForm(),
        "show_clinical": can_see_clinical(request.user),
        "can_change": request.user.has_perm(CHANGE_APPOINTMENT),
    }
    if _is_htmx(request):
        # Clicked on a grid: the appointment's card in the grid's panel, its forms going back there.
        local_day = timezone.localtime(appointment.starts_at).date()
        context["return_url"] = _page_to_return_to(request, _day_url(local_day))
        context["move_on_grid_url"] = f"{_day_url(local_day)}&move={appointment.pk}"
        context["is_today"] = local_day == timezone.localdate()
        context["started"] = appointment.starts_at <= timezone.now()
        return render(request, "scheduling/_appointment_panel.html", context)
    return render(request, "scheduling/appointment_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def appointment_move(request, pk: int):
    appointment = get_appointment_for(request.user, pk, perm=CHANGE_APPOINTMENT)
    local = timezone.localtime(appointment.starts_at)
    initial = {"day": local.date(), "at": local.time(), "practitioner": appointment.practitioner}
    picked = GridCellForm(request.GET) if request.method == "GET" and "start" in request.GET else None
    picked_return = ""
    if picked is not None and picked.is_valid():
        # A free cell picked on the grid in move mode: the form filled in, to confirm.
        picked_local = timezone.localtime(picked.cleaned_data["start"])
        initial = {
            "day": picked_local.date(),
            "at": picked_local.time(),
            "practitioner": picked.cleaned_data["practitioner"],
        }
        picked_return = _day_url(picked_local.date())
    form = MoveForm(request.POST or None, initial=initial)
    alternatives: list[availability.Slot] = []
    if request.method == "POST" and form.is_valid() and "starts_at" in form.cleaned_data:
        try:
            services.appointment_move(
                appointment=appointment, starts_at=form.cleaned_data["starts_at"], moved_by=request.user,
                practitioner=form.cleaned_data["practitioner"],
            )  # fmt: skip
        except ValidationError as error:
            alternatives = _show_refusal(form, error)
        else:
            appointment.refresh_from_db()
            messages.success(request, f"Moved to {timezone.localtime(appointment.starts_at):%A %d %B at %H:%M}.")
            return redirect_to_next(request, appointment)
    if not alternatives and appointment.is_open:
        # An appointment stored beyond the booking range (before the forms refused such days)
        # is offered times from today.
        day = local.date() if local.date() in dates.BOOKING else timezone.localdate()
        alternatives = availability.find_slots(
            appointment_type=appointment.appointment_type, date_from=max(day, timezone.localdate()),
            date_to=max(day, timezone.localdate()) + timedelta(days=7), practitioner=appointment.practitioner,
            patient=appointment.patient, exclude_appointment=appointment, limit=8,
        )  # fmt: skip
    return render(
        request,
        "scheduling/appointment_move.html",
        {
            "appointment": appointment,
            "form": form,
            "alternatives": alternatives,
            "next": request.POST.get("next", "") or request.GET.get("next", "") or picked_return,
            "picked_cell": bool(picked_return),
        },
    )


@require_POST
@login_required
def appointment_cancel(request, pk: int):
    appointment = get_appointment_for(request.user, pk, perm=CHANGE_APPOINTMENT)
    form = CancelForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect_to_next(request, appointment)
    try:
        services.appointment_cancel(
            appointment=appointment, reason=form.cleaned_data["reason"], cancelled_by=request.user
        )
    except ValidationError as error:
        messages.error(request, service_error_text(error))
    else:
        messages.success(request, "The appointment was cancelled and the slot is free again.")
    return redirect_to_next(request, appointment)


def _status_view(service, success: str):
    @require_POST
    @login_required
    def view(request, pk: int):
        appointment = get_appointment_for(request.user, pk, perm=CHANGE_APPOINTMENT)
        done = redirect_to_next(request, appointment)  # decided before acting: it cannot fail after
        try:
            service(appointment, request.user)
        except ValidationError as error:
            messages.error(request, service_error_text(error))
        else:
            messages.success(request, success.format(patient=appointment.patient))
        return done

    return view


appointment_check_in = _status_view(
    lambda a, user: services.appointment_check_in(appointment=a, checked_in_by=user), "{patient} has arrived."
)
appointment_complete = _status_view(
    lambda a, user: services.appointment_complete(appointment=a, completed_by=user), "The appointment is completed."
)
appointment_no_show = _status_view(
    lambda a, user: services.appointment_mark_no_show(appointment=a, marked_by=user), "Marked as a no-show."
)
appointment_confirm = _status_view(
    lambda a, user: services.appointment_confirm(appointment=a, confirmed_by=user), "Marked as confirmed."
)


@require_GET
@login_required
def appointment_ics_download(request, pk: int):
    appointment = get_appointment_for(request.user, pk)
    response = HttpResponse(appointment_ics(appointment), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    return response


# Course booking -------------------------------------------------------------------------


def _posted_sessions(request, plan) -> list[tuple[int, object, object]]:
    """The time chosen for each session: ``session_<number>`` is "<room id>@<start>" (a
    choice of its row), or a start alone (any free room)."""
    rooms = {room.pk: room for room in Room.objects.filter(is_active=True)}
    sessions = []
    for number in range(1, plan.session_count + 1):
        raw = request.POST.get(f"session_{number}")
        if not raw:
            continue
        room_id, _, start = raw.rpartition("@")
        starts_at = parse_instant(start)
        sessions.append((number, starts_at, rooms.get(dates.parse_id(room_id) or 0)))
    return sessions


@require_http_methods(["GET", "POST"])
@login_required
def course_book(request, plan_pk: int):
    plan = get_plan_for_booking(request.user, plan_pk)
    refusal = availability.plan_booking_refusal(plan)
    booked_sessions = list(plan.appointments.live().select_related("practitioner__user").order_by("starts_at"))
    context = {
        "plan": plan,
        "refusal": refusal,
        "booked_sessions": booked_sessions,
        "signed_numbers": sorted(availability.signed_session_numbers(plan)),
        "show_clinical": can_see_clinical(request.user),
    }
    if refusal:
        # A cancelled or completed plan's page says why and offers nothing to book; a booking
        # posted anyway conflicts with the plan's state.
        context["proposal"] = []
        status = 409 if request.method == "POST" else 200
        return render(request, "scheduling/course_book.html", context, status=status)
    to_book = availability.sessions_to_book(plan)
    default_practitioner = Practitioner.objects.filter(user_id=plan.doctor_id, is_active=True).first()
    course_type = AppointmentType.objects.filter(is_active=True, is_course_session=True).first()
    initial = {
        "practitioner": default_practitioner,
        "appointment_type": course_type,
        "first_day": max(plan.starts_on or timezone.localdate(), timezone.localdate()),
        "at": settings.CLINIC_LUNCH_START,
    }
    data = request.POST if request.method == "POST" else (request.GET if "practitioner" in request.GET else None)
    form = CourseForm(data, initial=initial)
    proposal: list[availability.ProposedSession] = []
    errors: list[str] = []
    if data is not None and form.is_valid():
        cleaned = form.cleaned_data
        if request.method == "POST":
            try:
                booked = services.course_book(
                    plan=plan, practitioner=cleaned["practitioner"], appointment_type=cleaned["appointment_type"],
                    sessions=_posted_sessions(request, plan), booked_by=request.user,
                )  # fmt: skip
            except ValidationError as error:
                errors = list(error.messages)
            else:
                numbers = ", ".join(str(appointment.plan_session_number) for appointment in booked)
                messages.success(
                    request,
                    f"{len(booked)} session{'s' if len(booked) != 1 else ''} ({numbers} of {plan.session_count}) "
                    f"booked for {plan.patient}; one confirmation email lists them all.",
                )
                return redirect("patients:detail", pk=plan.patient_id)
        proposal = availability.course_proposal(
            plan=plan, practitioner=cleaned["practitioner"], appointment_type=cleaned["appointment_type"],
            first_day=cleaned["first_day"], at=cleaned["at"],
        )  # fmt: skip
    context.update(
        {
            "form": form,
            "to_book": to_book,
            "proposal": proposal,
            "errors": errors,
            "can_book_all": bool(proposal) and all(p.slot is not None for p in proposal),
        }
    )
    return render(request, "scheduling/course_book.html", context)


# Calendar feeds -------------------------------------------------------------------------


@require_GET
def feed(request, token: str):
    """The practitioner's private feed: the secret token in the URL is the only key."""
    if not FEED_TOKEN.fullmatch(token):
        raise Http404("No such calendar feed.")
    practitioner = get_object_or_404(Practitioner.objects.select_related("user"), feed_token=token)
    response = HttpResponse(practitioner_feed(practitioner), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@login_required
def feed_regenerate(request, pk: int):
    practitioner = get_feed_practitioner_for(request.user, pk)
    services.practitioner_regenerate_feed_token(practitioner=practitioner)
    messages.success(request, "A new calendar feed address was made; the old one no longer works.")
    return redirect("scheduling:week", pk=practitioner.pk)


# Links in patient emails (public) -------------------------------------------------------


def _link_appointment(request, token: str, action: str):
    appointment, error_page = linked_object(
        request, token, action=action,
        queryset=Appointment.objects.select_related("practitioner__user", "appointment_type"),
        missing="This appointment no longer exists.",
    )  # fmt: skip
    if error_page is None and not link_is_current(appointment, read_link(token, action=action).version):
        # The appointment was moved after this email: its links must not act on the new time.
        return None, render(request, "scheduling/public_link_moved.html", {"appointment": appointment}, status=410)
    return appointment, error_page


@require_http_methods(["GET", "POST"])
@never_cache
def public_confirm(request, token: str):
    """GET shows the appointment, POST confirms: mail scanners that open links change nothing."""
    appointment, error_page = _link_appointment(request, token, CONFIRM_ACTION)
    if error_page is not None:
        return error_page
    outcome = ""
    if request.method == "POST":
        try:
            services.appointment_confirm(appointment=appointment)
        except ValidationError as error:
            outcome = " ".join(error.messages)
        else:
            outcome = "confirmed"
        appointment.refresh_from_db()
    return render(request, "scheduling/public_confirm.html", {"appointment": appointment, "outcome": outcome})


@require_http_methods(["GET", "POST"])
@never_cache
def public_cancel(request, token: str):
    appointment, error_page = _link_appointment(request, token, CANCEL_ACTION)
    if error_page is not None:
        return error_page
    too_late = timezone.now() >= cancel_deadline(appointment)
    outcome = ""
    if appointment.status == Appointment.Status.CANCELLED:
        outcome = "already"
    elif request.method == "POST" and not too_late:
        try:
            services.appointment_cancel(
                appointment=appointment, reason="Cancelled by the patient from the email link.", cancelled_by=None
            )
        except ValidationError as error:
            outcome = " ".join(error.messages)
        else:
            outcome = "cancelled"
        appointment.refresh_from_db()
    return render(
        request,
        "scheduling/public_cancel.html",
        {
            "appointment": appointment,
            "outcome": outcome,
            "too_late": too_late and outcome not in {"already", "cancelled"},
            "cutoff_hours": settings.APPOINTMENT_CANCEL_CUTOFF_HOURS,
        },
    )


# The maintenance recall email: the patient picks a lunchtime slot --------------------------

RECALL_WINDOW_DAYS = 28
RECALL_SLOTS_SHOWN = 12


def _recall_slots(plan, appointment_type) -> list[availability.Slot]:
    today = timezone.localdate()
    return availability.find_slots(
        appointment_type=appointment_type,
        date_from=today,
        date_to=today + timedelta(days=RECALL_WINDOW_DAYS),
        patient=plan.patient,
        limit=RECALL_SLOTS_SHOWN,
    )


@require_http_methods(["GET", "POST"])
def public_recall_book(request, token: str):
    """The recall email's link: free lunchtime slots for the first session of the next course.
    GET only lists them (mail scanners open links); POST books the chosen one, and when it was
    just taken shows that with fresh slots."""
    plan, error_page = linked_object(
        request, token, action=RECALL_BOOK_ACTION,
        queryset=TreatmentPlan.objects.select_related("patient").filter(status=TreatmentPlan.Status.COMPLETED),
        missing="We cannot find this course any more.",
    )  # fmt: skip
    if error_page is not None:
        return error_page
    context = {"plan": plan, "window_days": RECALL_WINDOW_DAYS}
    appointment_type = AppointmentType.objects.filter(is_active=True, is_course_session=True).order_by("name").first()
    refusal = services.recall_booking_refusal(plan)
    upcoming = list(
        Appointment.objects.filter(
            patient=plan.patient, starts_at__gte=timezone.now(), status__in=Appointment.OPEN_STATUSES
        ).select_related("practitioner__user", "appointment_type")[:3]
    )
    if MaintenanceRecall.objects.filter(plan=plan, status=MaintenanceRecall.Status.BOOKED).exists():
        return render(request, "scheduling/public_recall_book.html", {**context, "already": True, "upcoming": upcoming})
    if refusal or appointment_type is None:
        context["refusal"] = refusal or "Online booking is not open at the moment. Please call us."
        return render(request, "scheduling/public_recall_book.html", context)
    form = RecallSlotForm(request.POST if request.method == "POST" else None, window_days=RECALL_WINDOW_DAYS)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            practitioner, starts_at = form.cleaned_data["slot"]
            try:
                appointment = services.recall_book(
                    plan=plan, practitioner=practitioner, appointment_type=appointment_type, starts_at=starts_at
                )
            except RecallAlreadyBooked:
                return render(
                    request, "scheduling/public_recall_book.html", {**context, "already": True, "upcoming": upcoming}
                )
            except SlotTaken:
                context["taken"] = True
                status = 409
            except ValidationError as error:
                form.add_error(None, error.messages)
                status = 400
            else:
                return render(request, "scheduling/public_recall_book.html", {**context, "booked": appointment})
        else:
            status = 400
    context.update(form=form, slots=_recall_slots(plan, appointment_type))
    return render(request, "scheduling/public_recall_book.html", context, status=status)
