"""Treatment pages: function views that parse a form, call a service, render or redirect.
Every record is loaded through treatments.access; every clinical read is audited."""

from __future__ import annotations

import csv
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic import dateformats
from clinic.audit import Actor, audit_read, audit_record, audit_search
from clinic.forms import add_service_errors, service_error_text
from clinic.models import AuditEntry
from clinic.permissions import (
    CHANGE_PRODUCT,
    CHANGE_RECALL,
    CLOSE_FOLLOW_UP_TASK,
    OVERRIDE_SAFETY,
    RECALL_BATCH,
    RECORD_CLINICAL,
    TRACE_BATCH,
    VIEW_CLINICAL,
    VIEW_PRODUCT,
    VIEW_RECALLS,
)
from clinic.redirects import redirect_to_next
from messaging.links import linked_object
from patients.access import get_patient_for, require_perm
from patients.models import ConsentDocument
from patients.selectors import consent_record_in_force, patient_safety_summary
from treatments import photos, selectors, services
from treatments.access import (
    get_batch_for,
    get_consultation_for,
    get_photo_for,
    get_plan_for,
    get_plan_with_patient_for,
    get_session_for,
)
from treatments.emails import FOLLOW_UP_ACTION
from treatments.forms import (
    AddendumForm,
    BatchRecallForm,
    ConsultationForm,
    FollowUpAnswerForm,
    LotSearchForm,
    PhotoCompareForm,
    PhotoUploadForm,
    PlanActivateForm,
    PlanCancelForm,
    PlanForm,
    PlanSafetyPreviewForm,
    RatingForm,
    RecallFilterForm,
    RecallNoticeForm,
    RecallUpdateForm,
    SessionForm,
    SessionSignForm,
)
from treatments.models import (
    SESSION_INTERVAL,
    Batch,
    FollowUpTask,
    MaintenanceRecall,
    NumbingCream,
    Photo,
    SessionFollowUp,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.safety import default_numbing_cream, safety_check

Action = AuditEntry.Action


# Timeline ----------------------------------------------------------------------------


@require_GET
@login_required
def timeline(request, patient_pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=VIEW_CLINICAL)
    entries = selectors.patient_timeline(patient)
    audit_read(request, patient=patient, object_type="treatment timeline")
    return render(request, "treatments/timeline.html", {"patient": patient, "entries": entries})


# Consultations -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def consultation_create(request, patient_pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    form = ConsultationForm(request.POST or None, initial={"consulted_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            consultation = services.consultation_create(
                patient=patient, fields=form.consultation_fields(), actor=Actor.from_request(request)
            )
        except services.AlreadyRecorded as already:
            return _already_recorded(request, already)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The consultation was saved as a draft. Sign it when it is complete.")
            return redirect(consultation)
    return render(
        request,
        "treatments/consultation_form.html",
        {"patient": patient, "form": form, "consultation": None, "safety": patient_safety_summary(patient)},
    )


@require_GET
@login_required
def consultation_detail(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=VIEW_CLINICAL)
    consultation = get_consultation_for(request.user, patient, pk)
    addenda = list(consultation.addenda.select_related("author"))
    plans = list(consultation.plans.all())
    audit_read(request, patient=patient, obj=consultation)
    return render(
        request,
        "treatments/consultation_detail.html",
        {
            "patient": patient,
            "consultation": consultation,
            "addenda": addenda,
            "plans": plans,
            "addendum_form": AddendumForm(),
            "can_edit": not consultation.is_signed and consultation.doctor_id == request.user.pk,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def consultation_edit(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    consultation = get_consultation_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    if consultation.is_signed:
        messages.error(request, "This consultation is signed and locked: add an addendum to correct it.")
        return redirect(consultation)
    form = ConsultationForm(request.POST or None, instance=consultation)
    if request.method == "POST" and form.is_valid():
        try:
            services.consultation_update(
                consultation=consultation, fields=form.consultation_fields(), actor=Actor.from_request(request)
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The draft was saved.")
            return redirect("treatments:consultation_detail", patient.pk, consultation.pk)
    audit_read(request, patient=patient, obj=consultation)
    return render(
        request,
        "treatments/consultation_form.html",
        {"patient": patient, "form": form, "consultation": consultation, "safety": patient_safety_summary(patient)},
    )


@require_POST
@login_required
def consultation_sign(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    consultation = get_consultation_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    try:
        services.consultation_sign(consultation=consultation, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, service_error_text(error))
    else:
        messages.success(request, "The consultation is signed and locked.")
    return redirect("treatments:consultation_detail", patient.pk, consultation.pk)


def _already_recorded(request, already: services.AlreadyRecorded, to=None):
    """A form posted twice (or a draft still open): nothing new was written; say so and show
    the record that stands for it."""
    messages.info(request, service_error_text(already))
    return redirect(to or already.existing)


def _addendum_added(request, form, add) -> bool:
    """A dated correction posted to a signed record: True once the service added it (the page
    then redirects); False with the reason on the form, which the view shows again."""
    if not form.is_valid():
        return False
    try:
        add(form.cleaned_data["text"])
    except services.AlreadyRecorded as already:
        messages.info(request, service_error_text(already))
        return True
    except ValidationError as error:
        add_service_errors(form, error)
        return False
    messages.success(request, "The addendum was added.")
    return True


@require_POST
@login_required
def consultation_addendum(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    consultation = get_consultation_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    form = AddendumForm(request.POST)
    if _addendum_added(request, form, lambda text: services.consultation_addendum_add(
        consultation=consultation, text=text, actor=Actor.from_request(request)
    )):  # fmt: skip
        return redirect("treatments:consultation_detail", patient.pk, consultation.pk)
    audit_read(request, patient=patient, obj=consultation)
    return render(
        request,
        "treatments/consultation_detail.html",
        {
            "patient": patient,
            "consultation": consultation,
            "addenda": list(consultation.addenda.select_related("author")),
            "plans": list(consultation.plans.all()),
            "addendum_form": form,
            "can_edit": False,
        },
        status=400,
    )


# Plans -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def plan_create(request, patient_pk: int, consultation_pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    consultation = get_consultation_for(request.user, patient, consultation_pk, perm=RECORD_CLINICAL)
    if not consultation.is_signed:
        messages.error(request, "Sign the consultation before making a plan from it.")
        return redirect(consultation)
    history_items = list(patient.history_items.current())
    numbing_cream = default_numbing_cream(history_items)
    form = PlanForm(
        request.POST or None,
        initial={
            "technique": Technique.NEEDLE_SYRINGE,
            "starts_on": timezone.localdate() + SESSION_INTERVAL,
            "numbing_cream": numbing_cream,
        },
        history_items=history_items,
    )
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(
                consultation=consultation,
                fields=form.plan_fields(),
                cocktail=form.cocktail,
                actor=Actor.from_request(request),
            )
        except services.AlreadyRecorded as already:
            return _already_recorded(request, already)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The plan was proposed. Review the safety check, then start the course.")
            return redirect(plan)
    if request.method == "POST" and form.is_bound and hasattr(form, "cocktail"):
        # Show the safety check for what is being planned, even when the form has errors.
        check = safety_check(
            patient=patient,
            on=timezone.localdate(),
            consultation=consultation,
            products=[item.product for item in form.cocktail],
            # An unreadable choice counts as a cream: the check errs on the side of caution.
            numbing_cream=form.cleaned_data.get("numbing_cream") or NumbingCream.EMLA,
        )
    else:
        check = safety_check(
            patient=patient,
            on=timezone.localdate(),
            consultation=consultation,
            products=[],
            numbing_cream=numbing_cream,
        )
    audit_read(request, patient=patient, object_type="safety check")
    return render(
        request,
        "treatments/plan_form.html",
        {"patient": patient, "consultation": consultation, "form": form, "check": check},
    )


@require_http_methods(["GET", "POST"])
@login_required
def plan_edit(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    plan = get_plan_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    if plan.status != TreatmentPlan.Status.PROPOSED:
        messages.error(request, "Only a proposed plan can be changed; cancel a started course instead.")
        return redirect(plan)
    initial = {}
    cocktail = selectors.plan_products(plan)
    for index, item in enumerate(cocktail, start=1):
        initial[f"product_{index}"] = item.product_id
        initial[f"amount_{index}"] = item.amount_per_session
    form = PlanForm(
        request.POST or None, instance=plan, initial=initial, history_items=list(patient.history_items.current())
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_update(
                plan=plan, fields=form.plan_fields(), cocktail=form.cocktail, actor=Actor.from_request(request)
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The plan was changed.")
            return redirect("treatments:plan_detail", patient.pk, plan.pk)
    check = services.plan_safety_check(plan=plan)
    audit_read(request, patient=patient, obj=plan)
    return render(
        request,
        "treatments/plan_form.html",
        {"patient": patient, "consultation": plan.consultation, "form": form, "check": check, "plan": plan},
    )


@require_GET
@login_required
def plan_safety_preview(request, patient_pk: int, consultation_pk: int):
    """The safety check for the plan being filled in (htmx partial): the chosen products and
    numbing cream against the patient's history, refreshed as the doctor changes them."""
    patient = get_patient_for(request.user, patient_pk, perm=VIEW_CLINICAL)
    consultation = get_consultation_for(request.user, patient, consultation_pk)
    chosen = PlanSafetyPreviewForm(request.GET)
    check = safety_check(
        patient=patient,
        on=timezone.localdate(),
        consultation=consultation,
        products=chosen.products(),
        numbing_cream=chosen.cream(),
    )
    audit_read(request, patient=patient, object_type="safety check")
    return render(
        request, "treatments/_safety_check.html", {"check": check, "when": "(medical history against this plan)"}
    )


def _plan_context(request, patient, plan: TreatmentPlan) -> dict:
    """What the printable plan and the aftercare sheet show."""
    sessions = selectors.plan_sessions(plan)
    by_number = {session.number: session for session in sessions}
    planned = plan.planned_dates()
    schedule = [
        {"number": number, "planned_on": planned[number - 1] if planned else None, "session": by_number.get(number)}
        for number in range(1, plan.session_count + 1)
    ]
    return {
        "patient": patient,
        "plan": plan,
        "sessions": sessions,
        "schedule": schedule,
        "next_planned_on": next(
            (
                row["planned_on"]
                for row in schedule
                if row["session"] is None and row["planned_on"] and row["planned_on"] >= timezone.localdate()
            ),
            None,
        ),
        "cocktail": selectors.plan_products(plan),
        # A plan loaded with get_plan_with_patient_for says whether it has any (no query if not).
        "overrides": list(plan.safety_overrides.select_related("overridden_by", "session"))
        if getattr(plan, "has_overrides", True)
        else [],
    }


def _plan_page_context(request, patient, plan: TreatmentPlan) -> dict:
    """What the plan page shows (also when it comes back with a refused start or cancellation):
    rows read for the page, dates written and links made here rather than by template filters."""
    sessions = selectors.plan_page_sessions(plan)
    by_number = {session.number: session for session in sessions}
    planned = plan.planned_dates()
    schedule = []
    dates = dateformats.Dates()
    for number in range(1, plan.session_count + 1):
        planned_on = planned[number - 1] if planned else None
        session = by_number.get(number)
        schedule.append(
            {
                "number": number,
                "planned": dates.weekday_day_month_year(planned_on) if planned_on else "—",
                "session": session,
                "performed": dates.day_month_year_time(session.performed_at) if session else "",
                "usages": ", ".join(f"{name} lot {lot}" for name, lot in session.usages) if session else "",
            }
        )
    sessions_done = sum(1 for session in sessions if session.is_signed)
    return {
        "patient": patient,
        "plan": plan,
        "sessions": sessions,
        "sessions_done": sessions_done,
        "sessions_remaining": max(plan.session_count - sessions_done, 0),
        "can_record_clinical": request.user.has_perm(RECORD_CLINICAL),
        "schedule": schedule,
        "cocktail": selectors.plan_cocktail(plan),
        # A plan loaded with get_plan_with_patient_for says whether it has any (no query if not).
        "overrides": list(plan.safety_overrides.select_related("overridden_by", "session"))
        if getattr(plan, "has_overrides", True)
        else [],
    }


@require_GET
@login_required
def plan_detail(request, patient_pk: int, pk: int):
    plan = get_plan_with_patient_for(request.user, patient_pk, pk)
    patient = plan.patient
    context = _plan_page_context(request, patient, plan)
    check = services.plan_safety_check(plan=plan) if plan.is_open else None
    context.update(
        {
            "check": check,
            "activate_form": PlanActivateForm(check=check) if plan.status == TreatmentPlan.Status.PROPOSED else None,
            "cancel_form": PlanCancelForm() if not services.plan_cancel_refusal(plan) else None,
            "chart": selectors.outcomes_chart(plan, context["sessions"]),
        }
    )
    audit_read(request, patient=patient, obj=plan)
    return render(request, "treatments/plan_detail.html", context)


@require_POST
@login_required
def plan_activate(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    plan = get_plan_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    if plan.status != TreatmentPlan.Status.PROPOSED:
        # A second click, or a page left open: the course is under way or closed already.
        messages.error(
            request, f"Only a proposed plan can be started; this one is {plan.get_status_display().lower()}."
        )
        return redirect(plan)
    check = services.plan_safety_check(plan=plan)
    form = PlanActivateForm(request.POST, check=check)
    if form.is_valid():
        if any(form.overrides().values()):
            require_perm(request.user, OVERRIDE_SAFETY)
        try:
            services.plan_activate(plan=plan, actor=Actor.from_request(request), overrides=form.overrides())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The course has started.")
            return redirect(plan)
    audit_read(request, patient=patient, obj=plan)
    context = _plan_page_context(request, patient, plan)
    context.update(
        {
            "check": check,
            "activate_form": form,
            "cancel_form": PlanCancelForm(),
            "chart": selectors.outcomes_chart(plan, context["sessions"]),
        }
    )
    return render(request, "treatments/plan_detail.html", context, status=400)


@require_POST
@login_required
def plan_cancel(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    plan = get_plan_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    refusal = services.plan_cancel_refusal(plan)
    if refusal:
        messages.error(request, refusal)
        return redirect(plan)
    form = PlanCancelForm(request.POST)
    if form.is_valid():
        try:
            services.plan_cancel(plan=plan, reason=form.cleaned_data["reason"], actor=Actor.from_request(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The plan was cancelled; its pending emails were cancelled too.")
            return redirect(plan)
    audit_read(request, patient=patient, obj=plan)
    check = services.plan_safety_check(plan=plan) if plan.is_open else None
    context = _plan_page_context(request, patient, plan)
    context.update(
        {
            "check": check,
            "activate_form": PlanActivateForm(check=check) if plan.status == TreatmentPlan.Status.PROPOSED else None,
            "cancel_form": form,
            "chart": selectors.outcomes_chart(plan, context["sessions"]),
        }
    )
    return render(request, "treatments/plan_detail.html", context, status=400)


@require_GET
@login_required
def plan_print(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=VIEW_CLINICAL)
    plan = get_plan_for(request.user, patient, pk)
    context = _plan_context(request, patient, plan)
    audit_read(request, patient=patient, obj=plan, action=Action.PRINT)
    return render(request, "treatments/plan_print.html", context)


@require_GET
@login_required
def aftercare_print(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=VIEW_CLINICAL)
    plan = get_plan_for(request.user, patient, pk)
    context = _plan_context(request, patient, plan)
    audit_read(request, patient=patient, obj=plan, object_type="aftercare sheet", action=Action.PRINT)
    return render(request, "treatments/aftercare_print.html", context)


# Sessions ----------------------------------------------------------------------------


def _session_form_context(patient, plan, form, check, session=None) -> dict:
    return {
        "patient": patient,
        "plan": plan,
        "form": form,
        "check": check,
        "session": session,
        "next_number": session.number if session else plan.sessions.count() + 1,
    }


@require_http_methods(["GET", "POST"])
@login_required
def session_create(request, patient_pk: int, plan_pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    plan = get_plan_for(request.user, patient, plan_pk, perm=RECORD_CLINICAL)
    if plan.status != TreatmentPlan.Status.ACTIVE:
        messages.error(
            request, f"Sessions are recorded for an active plan; this one is {plan.get_status_display().lower()}."
        )
        return redirect(plan)
    draft = services.open_session_draft(plan)
    if draft is not None:
        # One draft at a time: the form posted twice, or a session left unsigned, opens that draft.
        messages.info(request, f"Session {draft.number} is a draft: sign or discard it before recording another.")
        return redirect(draft)
    if plan.sessions.count() >= plan.session_count:
        messages.error(request, f"All {plan.session_count} sessions of this plan are already recorded.")
        return redirect(plan)
    check = services.session_safety_check(plan=plan, on=timezone.localdate())
    initial = {
        "performed_at": timezone.localtime().replace(second=0, microsecond=0),
        "technique": plan.technique,
        "areas": plan.areas,
    }
    form = SessionForm(request.POST or None, initial=initial, plan=plan, on=timezone.localdate(), check=check)
    if request.method == "POST" and form.is_valid():
        if any(form.overrides().values()):
            require_perm(request.user, OVERRIDE_SAFETY)
        try:
            session = services.session_record(
                plan=plan,
                fields=form.session_fields(),
                usages=form.usages,
                actor=Actor.from_request(request),
                overrides=form.overrides(),
            )
        except services.AlreadyRecorded as already:
            return _already_recorded(request, already)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Session {session.number} was saved as a draft. Sign it to lock it.")
            return redirect(session)
    audit_read(request, patient=patient, object_type="safety check")
    return render(request, "treatments/session_form.html", _session_form_context(patient, plan, form, check))


def _session_detail_context(request, patient, session, sign_form=None) -> dict:
    can_edit = not session.is_signed and session.doctor_id == request.user.pk
    sign_check = services.session_sign_check(session=session) if not session.is_signed else None
    ratings = {rating.rater: rating for rating in session.ratings.all()}
    return {
        "patient": patient,
        "session": session,
        "plan": session.plan,
        "usages": list(session.batch_usages.select_related("batch__product")),
        "ratings": ratings,
        "photos": list(session.photos.all()),
        "rating_form": RatingForm(initial={"rater": "doctor" if "doctor" not in ratings else "patient"}),
        "photo_form": PhotoUploadForm(),
        "photography_consent": consent_record_in_force(patient, ConsentDocument.Procedure.PHOTOGRAPHY),
        "can_edit": can_edit,
        "check": sign_check,
        "sign_form": (sign_form or SessionSignForm(check=sign_check)) if can_edit else None,
        "overrides": list(session.safety_overrides.select_related("overridden_by")),
        "addenda": list(session.addenda.select_related("author")),
        "addendum_form": AddendumForm(),
    }


@require_GET
@login_required
def session_detail(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=VIEW_CLINICAL)
    session = get_session_for(request.user, patient, pk)
    context = _session_detail_context(request, patient, session)
    audit_read(request, patient=patient, obj=session)
    return render(request, "treatments/session_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def session_edit(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    session = get_session_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    if session.is_signed:
        messages.error(request, "This session record is signed and locked.")
        return redirect(session)
    form = SessionForm(
        request.POST or None, instance=session, plan=session.plan, on=timezone.localtime(session.performed_at).date()
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.session_update(
                session=session, fields=form.session_fields(), usages=form.usages, actor=Actor.from_request(request)
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The draft was saved.")
            return redirect("treatments:session_detail", patient.pk, session.pk)
    audit_read(request, patient=patient, obj=session)
    check = services.session_safety_check(plan=session.plan, on=timezone.localdate())
    return render(
        request, "treatments/session_form.html", _session_form_context(patient, session.plan, form, check, session)
    )


@require_POST
@login_required
def session_sign(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    session = get_session_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    if session.is_signed:
        messages.error(request, "This session record is signed and locked.")
        return redirect("treatments:session_detail", patient.pk, session.pk)
    form = SessionSignForm(request.POST, check=services.session_sign_check(session=session))
    if form.is_valid():
        if any(form.overrides().values()):
            require_perm(request.user, OVERRIDE_SAFETY)
        actor = Actor.from_request(request)
        try:
            if not form.cleaned_data["confirmed"]:
                # First step: what will be locked, to confirm; nothing is written yet.
                preview = services.session_sign_preview(session=session, actor=actor, overrides=form.overrides())
            else:
                services.session_sign(session=session, actor=actor, overrides=form.overrides())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if not form.cleaned_data["confirmed"]:
                audit_read(request, patient=patient, obj=session)
                return render(
                    request,
                    "treatments/session_sign_confirm.html",
                    {"patient": patient, "plan": session.plan, "session": preview.session, "preview": preview,
                     "form": form},
                )  # fmt: skip
    if form.errors:
        # Refused: the draft is as it was; the page says which rule and record, at the top.
        session.refresh_from_db()
        audit_read(request, patient=patient, obj=session)
        context = _session_detail_context(request, patient, session, sign_form=form)
        return render(request, "treatments/session_detail.html", context, status=400)
    session.plan.refresh_from_db()
    if session.plan.status == TreatmentPlan.Status.COMPLETED:
        messages.success(
            request,
            f"Session {session.number} is signed. The course is complete; maintenance is due "
            f"{session.plan.maintenance_due_on:%d %B %Y}.",
        )
    else:
        messages.success(request, f"Session {session.number} is signed and locked; stock was updated.")
    return redirect("treatments:session_detail", patient.pk, session.pk)


@require_POST
@login_required
def session_discard(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    session = get_session_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    try:
        services.session_discard(session=session, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, service_error_text(error))
        return redirect("treatments:session_detail", patient.pk, session.pk)
    messages.success(request, f"The draft of session {session.number} was discarded.")
    return redirect(session.plan)


@require_POST
@login_required
def session_addendum(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    session = get_session_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    form = AddendumForm(request.POST)
    if _addendum_added(request, form, lambda text: services.session_addendum_add(
        session=session, text=text, actor=Actor.from_request(request)
    )):  # fmt: skip
        return redirect("treatments:session_detail", patient.pk, session.pk)
    return render(
        request,
        "treatments/addendum_form.html",
        {"patient": patient, "plan": session.plan, "form": form, "record": session,
         "action": reverse("treatments:session_addendum", args=[patient.pk, session.pk])},
        status=400,
    )  # fmt: skip


def _session_form_post(request, patient, session, form, save, *, done: str, template: str):
    """One of a session page's small forms (a rating, a photo): when the form is valid and the
    service accepts it, back to the session with ``done``; otherwise the form again, saying why."""
    if form.is_valid():
        try:
            save()
        except services.AlreadyRecorded as already:
            return _already_recorded(request, already, to=session)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect("treatments:session_detail", patient.pk, session.pk)
    context = {"patient": patient, "session": session, "plan": session.plan, "form": form}
    return render(request, template, context, status=400)


@require_POST
@login_required
def session_rating(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    session = get_session_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    form = RatingForm(request.POST)

    def save():
        services.outcome_rating_record(
            session=session, rater=form.cleaned_data["rater"], scores=form.scores(), actor=Actor.from_request(request)
        )

    return _session_form_post(
        request, patient, session, form, save, done="The rating was recorded.", template="treatments/rating_form.html"
    )


# Photos ------------------------------------------------------------------------------


@require_POST
@login_required
def photo_upload(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=RECORD_CLINICAL)
    session = get_session_for(request.user, patient, pk, perm=RECORD_CLINICAL)
    form = PhotoUploadForm(request.POST, request.FILES)

    def save():
        photos.photo_upload(
            session=session,
            upload=form.cleaned_data["image"],
            kind=form.cleaned_data["kind"],
            view=form.cleaned_data["view"],
            actor=Actor.from_request(request),
        )

    return _session_form_post(
        request,
        patient,
        session,
        form,
        save,
        done="The photo was uploaded; its metadata (camera, time, location) was removed.",
        template="treatments/photo_form.html",
    )


@require_GET
@login_required
def photo_file(request, patient_pk: int, pk: int):
    patient = get_patient_for(request.user, patient_pk, perm=VIEW_CLINICAL)
    photo = get_photo_for(request.user, patient, pk)
    try:
        payload = photos.photo_read(photo=photo)
    except ValidationError:
        raise Http404("The photo file is missing.") from None
    audit_read(request, patient=patient, obj=photo)
    response = HttpResponse(payload, content_type=photo.content_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="photo-{photo.pk}.{photo.path.rsplit(".", 1)[-1]}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _same_view(photo: Photo, other: Photo) -> bool:
    return photo.view.strip().casefold() == other.view.strip().casefold()


@require_GET
@login_required
def photo_compare(request, patient_pk: int, pk: int):
    """Before on the left, after on the right, of the same view (angle) when there is one: by
    default the first before photo of the course and the latest after photo of its view."""
    patient = get_patient_for(request.user, patient_pk, perm=VIEW_CLINICAL)
    plan = get_plan_for(request.user, patient, pk)
    plan_photos = list(
        Photo.objects.filter(session__plan=plan).select_related("session").order_by("session__number", "kind", "id")
    )
    before = [photo for photo in plan_photos if photo.kind == Photo.Kind.BEFORE] or plan_photos
    after = [photo for photo in plan_photos if photo.kind == Photo.Kind.AFTER] or plan_photos
    form = PhotoCompareForm(request.GET or None, before=before, after=after)
    chosen = form.cleaned_data if form.is_bound and form.is_valid() else {}
    left = chosen.get("before") or (before[0] if before else None)
    right = chosen.get("after")
    if right is None and left is not None:
        matching = [photo for photo in after if photo.pk != left.pk and _same_view(photo, left)]
        others = [photo for photo in after if photo.pk != left.pk]
        right = (matching or others or [left])[-1]
    audit_read(request, patient=patient, obj=plan, object_type="photo comparison")
    return render(
        request,
        "treatments/photo_compare.html",
        {
            "patient": patient,
            "plan": plan,
            "form": form
            if form.is_bound
            else PhotoCompareForm(initial={"before": left, "after": right}, before=before, after=after),
            "left": left,
            "right": right,
            "views_differ": left is not None and right is not None and not _same_view(left, right),
        },
    )


# Formulary ---------------------------------------------------------------------------


@require_GET
@login_required
def formulary(request):
    require_perm(request.user, VIEW_PRODUCT)
    today = timezone.localdate()
    return render(
        request,
        "treatments/formulary.html",
        {
            "products": selectors.formulary_products(),
            "batches": selectors.formulary_batches(),
            "today": today,
            "alerts": selectors.stock_alerts(today=today),
            "lot_form": LotSearchForm(),
            "can_manage": request.user.is_staff and request.user.has_perm(CHANGE_PRODUCT),
        },
    )


# Maintenance recall worklist -----------------------------------------------------------

RECALL_PAGE_SIZE = 50
RECALL_DEFAULT_BEFORE, RECALL_DEFAULT_AFTER = timedelta(days=30), timedelta(days=60)


def _recall_plan(request, plan_pk: int, perm: str) -> TreatmentPlan:
    """A completed plan, for the recall pages: the desk sees only the recall facts of it."""
    require_perm(request.user, perm)
    return get_object_or_404(
        TreatmentPlan.objects.select_related("patient", "consultation"),
        pk=plan_pk,
        status=TreatmentPlan.Status.COMPLETED,
    )


# Lot traceability and recall ---------------------------------------------------------


@require_GET
@login_required
def recall_list(request):
    require_perm(request.user, VIEW_RECALLS)
    today = timezone.localdate()
    initial = {"date_from": today - RECALL_DEFAULT_BEFORE, "date_to": today + RECALL_DEFAULT_AFTER}
    form = RecallFilterForm(request.GET or None, initial=initial)
    window = initial | {"status": ""}
    plans = TreatmentPlan.objects.none()
    if not form.is_bound:
        plans = selectors.recall_worklist(**window)
    elif form.is_valid():
        window = form.cleaned_data
        plans = selectors.recall_worklist(**window)
    page = Paginator(plans, RECALL_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "treatments/recall_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "window": window,
            "can_change": request.user.has_perm(CHANGE_RECALL),
            "can_propose": request.user.has_perm(RECORD_CLINICAL),
            "statuses": MaintenanceRecall.Status.choices,
            "next": request.get_full_path(),
        },
    )


@require_POST
@login_required
def recall_update(request, plan_pk: int):
    plan = _recall_plan(request, plan_pk, CHANGE_RECALL)
    form = RecallUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{plan.patient}: " + " ".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            services.recall_update(
                plan=plan, status=form.cleaned_data["status"], notes=form.cleaned_data["notes"],
                actor=Actor.from_request(request),
            )  # fmt: skip
        except ValidationError as error:
            messages.error(request, service_error_text(error))
        else:
            messages.success(request, f"The recall of {plan.patient} is saved.")
    return redirect_to_next(request, reverse("treatments:recall_list"))


@require_POST
@login_required
def recall_propose(request, plan_pk: int):
    """Propose the next course: a copy of the completed plan, for the doctor to review and start."""
    plan = _recall_plan(request, plan_pk, RECORD_CLINICAL)
    try:
        next_plan = services.recall_propose_next_course(plan=plan, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, service_error_text(error))
        return redirect_to_next(request, reverse("treatments:recall_list"))
    messages.success(request, "The next course is proposed: review it and start it, then reception books it.")
    return redirect(next_plan)


# Next-day follow-up ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def public_follow_up(request, token: str):
    """The patient's answer to the next-day email. GET shows the question (mail scanners that
    open links change nothing); POST records the answer once."""
    session, error_page = linked_object(
        request, token, action=FOLLOW_UP_ACTION,
        queryset=TreatmentSession.objects.select_related("patient").filter(status=TreatmentSession.Status.SIGNED),
        missing="We cannot find this treatment session any more.",
    )  # fmt: skip
    if error_page is not None:
        return error_page
    existing = SessionFollowUp.objects.filter(session=session).first()
    form = FollowUpAnswerForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and existing is None:
        if form.is_valid():
            try:
                existing = services.follow_up_answer(
                    session=session, answer=form.cleaned_data["answer"], concern=form.cleaned_data["concern"]
                )
            except services.AlreadyAnswered as already:
                existing = already.follow_up
                status = 409
            except ValidationError as error:
                add_service_errors(form, error)
                status = 400
            else:
                return render(request, "treatments/public_follow_up.html", {"answered": existing, "thanks": True})
        else:
            status = 400
    elif request.method == "POST":
        status = 409  # answered before: the first answer stands
    return render(
        request,
        "treatments/public_follow_up.html",
        {"form": form, "answered": existing, "session": session, "refused": status == 409},
        status=status,
    )


@require_GET
@login_required
def lot_search(request):
    """Who got lot X: the batches with that lot number and every session that used them."""
    require_perm(request.user, TRACE_BATCH)
    form = LotSearchForm(request.GET or None)
    hits = None
    if form.is_bound and form.is_valid():
        query = form.cleaned_data["q"]
        hits = selectors.lot_search(query, shown=selectors.RECIPIENTS_IN_SEARCH)
        audit_search(request, query=query, object_type="lot search")
    return render(
        request, "treatments/lot_search.html", {"form": form, "hits": hits, "shown": selectors.RECIPIENTS_IN_SEARCH}
    )


def _trace_context(request, batch: Batch) -> dict:
    page = Paginator(selectors.lot_recipients_queryset(batch), selectors.RECIPIENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    usages = list(page.object_list)
    return {
        "batch": batch,
        "page": page,
        "usages": usages,
        "counts": selectors.lot_counts(batch),
        "notices": selectors.recall_notices(batch, [usage.session.patient_id for usage in usages]),
        "can_recall": request.user.has_perm(RECALL_BATCH),
        "can_open_sessions": request.user.has_perm(VIEW_CLINICAL),
    }


def _audit_trace(request, batch: Batch, object_type: str = "lot recipients") -> None:
    audit_record(actor=Actor.from_request(request), action=Action.VIEW, obj=batch, object_type=object_type)


@require_GET
@login_required
def batch_trace(request, pk: int):
    batch = get_batch_for(request.user, pk, perm=TRACE_BATCH)
    context = _trace_context(request, batch)
    context["notice_form"] = RecallNoticeForm() if batch.is_recalled and context["can_recall"] else None
    _audit_trace(request, batch)
    return render(request, "treatments/batch_trace.html", context)


@require_GET
@login_required
def batch_recipients_csv(request, pk: int):
    batch = get_batch_for(request.user, pk, perm=TRACE_BATCH)
    usages = selectors.lot_recipients(batch)
    notices = selectors.recall_notices(batch, [usage.session.patient_id for usage in usages])
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"lot-{slugify(batch.lot_number) or batch.pk}-patients.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([
        "product", "lot", "patient number", "last name", "first name", "date of birth", "phone", "email",
        "session", "session date", "session status", "doctor", "amount (ml)", "recall notice",
    ])  # fmt: skip
    for usage in usages:
        session, patient = usage.session, usage.session.patient
        notice = notices.get(patient.pk)
        writer.writerow(
            [
                _csv_cell(value)
                for value in (
                    batch.product.name, batch.lot_number, patient.pk, patient.last_name, patient.first_name,
                    f"{patient.date_of_birth:%Y-%m-%d}", patient.phone, patient.email, session.number,
                    f"{timezone.localtime(session.performed_at):%Y-%m-%d %H:%M}", session.get_status_display(),
                    session.doctor.get_full_name() or session.doctor.get_username(), usage.amount,
                    notice.get_status_display() if notice else "",
                )
            ]
        )  # fmt: skip
    _audit_trace(request, batch, "lot recipients (CSV)")
    return response


def _csv_cell(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (=, +, -, @ first)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@require_http_methods(["GET", "POST"])
@login_required
def batch_recall(request, pk: int):
    batch = get_batch_for(request.user, pk, perm=RECALL_BATCH)
    if batch.is_recalled:
        messages.info(request, f"Lot {batch.lot_number} is already recalled.")
        return redirect(batch)
    form = BatchRecallForm(request.POST or None, initial={"recalled_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.batch_recall(
                batch=batch,
                reason=form.cleaned_data["reason"],
                recalled_on=form.cleaned_data["recalled_on"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Lot {batch.lot_number} is recalled: it can no longer be used. Check the patients who received it, "
                "then send them the recall notice.",
            )
            return redirect(batch)
    context = _trace_context(request, batch)
    context["form"] = form
    _audit_trace(request, batch)
    return render(request, "treatments/batch_recall.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
def follow_up_task_done(request, pk: int):
    require_perm(request.user, CLOSE_FOLLOW_UP_TASK)
    task = get_object_or_404(FollowUpTask.objects.select_related("patient"), pk=pk)
    try:
        services.follow_up_task_done(task=task, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, service_error_text(error))
    else:
        messages.success(request, f"The concern of {task.patient} is marked done.")
    return redirect_to_next(request, reverse("home"))


@require_POST
@login_required
def batch_recall_notify(request, pk: int):
    batch = get_batch_for(request.user, pk, perm=RECALL_BATCH)
    form = RecallNoticeForm(request.POST)
    if form.is_valid():
        try:
            queued = services.batch_recall_notices_queue(batch=batch, actor=Actor.from_request(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if queued:
                messages.success(request, f"The recall notice was queued for {queued} patient{pluralize(queued)}.")
            else:
                messages.info(request, "Every patient listed already has the recall notice; none was queued again.")
            return redirect(batch)
    context = _trace_context(request, batch)
    context["notice_form"] = form
    _audit_trace(request, batch)
    return render(request, "treatments/batch_trace.html", context, status=400)
