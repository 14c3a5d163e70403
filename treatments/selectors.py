"""Reads of treatment records that are more than one queryset call. Pages that list
sessions load them in a fixed number of queries, however many sessions there are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from clinic.localtime import day_bounds
from patients.models import Patient
from treatments.models import (
    Batch,
    BatchUsage,
    FollowUpTask,
    MaintenanceRecall,
    OutcomeRating,
    Product,
    TreatmentPlan,
    TreatmentSession,
)


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "consultation", "plan" or "session"
    when: datetime
    obj: object


def patient_timeline(patient: Patient) -> list[TimelineEntry]:
    """Consultations, plans and sessions of ``patient``, oldest first, in three queries."""
    consultations = patient.consultations.select_related("doctor").annotate(addendum_count=Count("addenda"))
    plans = patient.treatment_plans.select_related("doctor")
    sessions = patient.treatment_sessions.select_related("doctor", "plan")
    entries = [TimelineEntry("consultation", day_bounds(c.consulted_on)[0], c) for c in consultations]
    entries += [TimelineEntry("plan", plan.created_at, plan) for plan in plans]
    entries += [TimelineEntry("session", session.performed_at, session) for session in sessions]
    order = {"consultation": 0, "plan": 1, "session": 2}
    entries.sort(key=lambda entry: (entry.when, order[entry.kind], entry.obj.pk))
    return entries


def plan_sessions(plan: TreatmentPlan) -> list[TreatmentSession]:
    """The plan's sessions with what each page shows about them, in a fixed number of queries;
    prefetched onto the plan, so ``plan.sessions.all()`` (and ``sessions_done``) reuse them."""
    prefetch_related_objects(
        [plan],
        Prefetch(
            "sessions",
            queryset=TreatmentSession.objects.select_related("doctor")
            .prefetch_related(
                # One query for the usages with their batch and product, not three.
                Prefetch("batch_usages", queryset=BatchUsage.objects.select_related("batch__product")),
                Prefetch("ratings", queryset=OutcomeRating.objects.order_by("rater")),
            )
            .order_by("number"),
        ),
    )
    return list(plan.sessions.all())


def plan_products(plan: TreatmentPlan):
    return list(plan.plan_products.select_related("product"))


def formulary_products() -> QuerySet[Product]:
    return Product.objects.prefetch_related("ingredients").order_by("-is_active", "name")


def formulary_batches() -> QuerySet[Batch]:
    return Batch.objects.select_related("product").order_by("product__name", "expiry_date")


def batches_for_choice() -> QuerySet[Batch]:
    """Batches a doctor may pick in a session record: of products in use, in date, not recalled,
    in stock. (The services check the same again against the session's date.)"""
    return (
        Batch.objects.select_related("product")
        .filter(product__is_active=True)
        .usable_on(timezone.localdate())
        .order_by("product__name", "expiry_date", "lot_number")
    )


# Outcomes chart ----------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 560, 220, 40
SERIES = (
    ("hydration", "Hydration", "#0d6efd"),
    ("radiance", "Radiance (glow)", "#d63384"),
    ("fine_lines", "Fine lines", "#198754"),
    ("satisfaction", "Overall satisfaction", "#b35900"),
)
# The doctor's ratings are solid lines, the patient's dashed: colour is not the only signal.
RATER_DASH = {"doctor": "", "patient": "6 4"}


@dataclass
class ChartSeries:
    key: str
    label: str
    colour: str
    dash: str
    points: list[tuple[float, float, int, int]]  # x, y, session number, score

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in self.points)


def outcomes_chart(plan: TreatmentPlan, sessions: list[TreatmentSession]) -> dict:
    """Coordinates of an inline SVG line chart of the ratings across the course (scores
    1-5 up, session numbers across), from the sessions' prefetched ratings."""
    from treatments.models import MAX_RATING, MIN_RATING

    count = max(plan.session_count, 2)
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD

    def x_of(number: int) -> float:
        return CHART_PAD + inner_w * (number - 1) / (count - 1)

    def y_of(score: int) -> float:
        return CHART_PAD + inner_h * (MAX_RATING - score) / (MAX_RATING - MIN_RATING)

    series: list[ChartSeries] = []
    rows = []
    for rater, rater_label in OutcomeRating.Rater.choices:
        for key, label, colour in SERIES:
            points = []
            for session in sessions:
                rating = next((r for r in session.ratings.all() if r.rater == rater), None)
                if rating is not None:
                    score = getattr(rating, key)
                    points.append((x_of(session.number), y_of(score), session.number, score))
            if points:
                series.append(
                    ChartSeries(
                        key,
                        f"{label} ({rater_label.lower()})",
                        colour,
                        RATER_DASH[rater],
                        points,
                    )
                )
    for session in sessions:
        by_rater = {rating.rater: rating for rating in session.ratings.all()}
        rows.append({"session": session, "doctor": by_rater.get("doctor"), "patient": by_rater.get("patient")})
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "series": series,
        "rows": rows,
        "x_ticks": [(x_of(n), n) for n in range(1, plan.session_count + 1)],
        "y_ticks": [(y_of(score), score) for score in range(MIN_RATING, MAX_RATING + 1)],
        "left": CHART_PAD,
        "right": CHART_WIDTH - CHART_PAD,
        "top": CHART_PAD,
        "bottom": CHART_HEIGHT - CHART_PAD,
    }


# Maintenance recall worklist ----------------------------------------------------------


def recall_worklist(*, date_from, date_to, status: str = "") -> QuerySet[TreatmentPlan]:
    """Completed courses whose maintenance falls due between ``date_from`` and ``date_to``,
    with the desk's recall row (absent: still "due") and whether a newer course exists.
    Soonest due first; the patient and the row come in the same query."""
    newer = TreatmentPlan.objects.filter(patient_id=OuterRef("patient_id"), created_at__gt=OuterRef("created_at"))
    plans = (
        TreatmentPlan.objects.filter(
            status=TreatmentPlan.Status.COMPLETED,
            maintenance_due_on__gte=date_from,
            maintenance_due_on__lte=date_to,
        )
        .select_related("patient", "recall", "recall__next_plan")
        .annotate(has_newer_course=Exists(newer.exclude(status=TreatmentPlan.Status.CANCELLED)))
        .order_by("maintenance_due_on", "id")
    )
    if status == MaintenanceRecall.Status.DUE:
        plans = plans.filter(Q(recall__isnull=True) | Q(recall__status=status))
    elif status:
        plans = plans.filter(recall__status=status)
    return plans


def open_follow_up_tasks(*, doctor=None) -> QuerySet:
    """Concerns patients raised after a session that no doctor has marked done yet."""
    tasks = (
        FollowUpTask.objects.open()
        .select_related("patient", "doctor", "follow_up", "follow_up__session")
        .order_by("created_at", "id")
    )
    return tasks if doctor is None else tasks.filter(doctor=doctor)
