"""Reads of treatment records that are more than one queryset call. Pages that list
sessions load them in a fixed number of queries, however many sessions there are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from clinic.localtime import day_bounds
from clinic.prepared import PreparedStatement
from clinic.rows import link_maker
from messaging import keys
from messaging.models import ScheduledMessage
from patients.models import Patient
from treatments.models import (
    EXPIRY_WARNING_DAYS,
    MAX_RATING,
    MIN_RATING,
    Batch,
    BatchUsage,
    FollowUpTask,
    MaintenanceRecall,
    OutcomeRating,
    PlanProduct,
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
            # Not the doctor: no page of the plan names who gave each session.
            queryset=TreatmentSession.objects.prefetch_related(
                # One query for the usages with their batch and product, not three.
                Prefetch("batch_usages", queryset=BatchUsage.objects.select_related("batch__product")),
                Prefetch("ratings", queryset=OutcomeRating.objects.order_by("rater")),
            ).order_by("number"),
        ),
    )
    return list(plan.sessions.all())


@dataclass(frozen=True)
class SessionScores:
    """One rater's outcome scores for a session (1-5 each)."""

    rater: str
    hydration: int
    radiance: int
    fine_lines: int
    satisfaction: int


@dataclass
class PlanSessionRow:
    """What the plan page shows of one of its sessions, read as a row, not a model instance."""

    pk: int
    number: int
    status: str
    performed_at: datetime
    url: str
    usages: list[tuple[str, str]]  # (product name, lot number) of each batch used, in the order recorded
    ratings: dict[str, SessionScores]  # by rater

    @property
    def is_signed(self) -> bool:
        return self.status == TreatmentSession.Status.SIGNED

    def get_status_display(self) -> str:
        # As the model's get_status_display: the stored value if it is not a known status.
        return str(dict(TreatmentSession.Status.choices).get(self.status, self.status))


# The page's sessions with the batches used and the ratings, in one statement (not three).
PLAN_SESSIONS_SQL = """
    SELECT s.id, s.patient_id, s.number, s.status, s.performed_at,
           ARRAY(SELECT ARRAY[p.name, b.lot_number]
                   FROM treatments_batchusage u
                   JOIN treatments_batch b ON b.id = u.batch_id
                   JOIN treatments_product p ON p.id = b.product_id
                  WHERE u.session_id = s.id
                  ORDER BY u.id),
           ARRAY(SELECT ARRAY[r.rater, r.hydration::text, r.radiance::text, r.fine_lines::text, r.satisfaction::text]
                   FROM treatments_outcomerating r
                  WHERE r.session_id = s.id
                  ORDER BY r.rater)
      FROM treatments_treatmentsession s
     WHERE s.plan_id = %s
     ORDER BY s.number
"""


def plan_page_sessions(plan: TreatmentPlan) -> list[PlanSessionRow]:
    """The plan's sessions as its page shows them (number, status, date, link, batches used,
    ratings), in number order, in one query however many sessions there are."""
    with connection.cursor() as cursor:
        cursor.execute(PLAN_SESSIONS_SQL, [plan.pk])
        rows = cursor.fetchall()
    session_link = link_maker("treatments:session_detail", 2)  # the page links to every session
    sessions = []
    for pk, patient_id, number, status, performed_at, usages, ratings in rows:
        sessions.append(
            PlanSessionRow(
                pk=pk,
                number=number,
                status=status,
                performed_at=performed_at,
                url=session_link(patient_id, pk),
                usages=[(name, lot) for name, lot in usages],
                ratings={
                    rater: SessionScores(rater, int(hydration), int(radiance), int(fine_lines), int(satisfaction))
                    for rater, hydration, radiance, fine_lines, satisfaction in ratings
                },
            )
        )
    return sessions


def plan_products(plan: TreatmentPlan):
    return list(plan.plan_products.select_related("product"))


@dataclass(frozen=True)
class CocktailLine:
    """One product of a plan's cocktail as the plan page lists it."""

    name: str
    manufacturer: str
    amount_per_session: Decimal


def plan_cocktail(plan: TreatmentPlan) -> list[CocktailLine]:
    """The plan's cocktail (product, maker, ml per session) in the order it was written."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.name, p.manufacturer, pp.amount_per_session
              FROM treatments_planproduct pp
              JOIN treatments_product p ON p.id = pp.product_id
             WHERE pp.plan_id = %s
             ORDER BY pp.id
            """,
            [plan.pk],
        )
        return [CocktailLine(*row) for row in cursor.fetchall()]


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


def batches_for_product(product: Product, *, on: date, amount: Decimal | None = None) -> QuerySet[Batch]:
    """The batches of ``product`` a doctor may use on ``on`` for ``amount`` ml: in date, not
    recalled, with enough stock; the first to expire first (it is the one to use)."""
    batches = Batch.objects.select_related("product").filter(product=product).usable_on(on)
    if amount is not None:
        batches = batches.filter(quantity_in_stock__gte=amount)
    return batches.first_expiring_first()


@dataclass
class CocktailRow:
    """One product of the plan's cocktail in the session form: the batches it may come from."""

    plan_product: PlanProduct
    batches: list[Batch]

    @property
    def first_expiring(self) -> Batch | None:
        return self.batches[0] if self.batches else None


def session_cocktail(plan: TreatmentPlan, *, on: date) -> list[CocktailRow]:
    """The plan's cocktail, each product with its usable batches (enough stock for the
    planned amount), first-expiring first: two queries, however many products."""
    cocktail = list(plan.plan_products.select_related("product").order_by("id"))
    by_product: dict[int, list[Batch]] = {item.product_id: [] for item in cocktail}
    amounts = {item.product_id: item.amount_per_session for item in cocktail}
    batches = (
        Batch.objects.select_related("product")
        .filter(product_id__in=list(by_product))
        .usable_on(on)
        .first_expiring_first()
    )
    for batch in batches:
        if batch.quantity_in_stock >= amounts[batch.product_id]:
            by_product[batch.product_id].append(batch)
    return [CocktailRow(item, by_product[item.product_id]) for item in cocktail]


# Traceability: who received a batch ----------------------------------------------------


RECIPIENTS_PER_PAGE = 100
RECIPIENTS_IN_SEARCH = 25


def lot_recipients_queryset(batch: Batch) -> QuerySet[BatchUsage]:
    """Every recorded use of ``batch``: the session (draft or signed), its patient and doctor,
    the amount; oldest first (a page of it, or all of it for the CSV)."""
    return (
        BatchUsage.objects.filter(batch=batch)
        .select_related("session__patient", "session__doctor")
        .order_by("session__performed_at", "session_id")
    )


def lot_recipients(batch: Batch) -> list[BatchUsage]:
    return list(lot_recipients_queryset(batch))


@dataclass(frozen=True)
class LotCounts:
    sessions: int
    patients: int


def lot_counts(batch: Batch) -> LotCounts:
    """How many sessions used ``batch`` and how many patients they were for: one query."""
    counts = BatchUsage.objects.filter(batch=batch).aggregate(
        sessions=Count("id"), patients=Count("session__patient", distinct=True)
    )
    return LotCounts(counts["sessions"], counts["patients"])


@dataclass(frozen=True)
class LotUse:
    session: TreatmentSession
    amount: Decimal


@dataclass(frozen=True)
class LotHit:
    batch: Batch
    sessions: int  # how many sessions used it
    latest: list[LotUse]  # the most recent, newest first


def lot_search(query: str, *, shown: int = RECIPIENTS_IN_SEARCH) -> list[LotHit]:
    """Batches whose lot number is ``query`` (any case, spaces around ignored; an index on
    UPPER(lot_number) finds them), each with how many sessions used it and its ``shown`` latest
    uses. A fixed number of queries, and none reads every use of a busy lot: the count is an
    index-only scan and the latest are read newest first, stopping after ``shown``."""
    lot = query.strip()
    if not lot:
        return []
    batches = Batch.objects.select_related("product").filter(lot_number__iexact=lot).order_by("product__name", "id")
    hits = []
    for batch in batches:
        uses = BatchUsage.objects.filter(batch=batch)
        latest = list(
            TreatmentSession.objects.filter(Exists(uses.filter(session=OuterRef("pk"))))
            .select_related("patient")
            .order_by("-performed_at", "-id")[:shown]
        )
        amounts = dict(uses.filter(session__in=[session.pk for session in latest]).values_list("session_id", "amount"))
        hits.append(LotHit(batch, uses.count(), [LotUse(session, amounts[session.pk]) for session in latest]))
    return hits


def recall_notices(batch: Batch, patient_ids: list[int]) -> dict[int, ScheduledMessage]:
    """The recall notice about ``batch`` of each of these patients who has one, by patient id
    (found by their dedupe keys, which are unique and indexed)."""
    kind = ScheduledMessage.Kind.LOT_RECALL_NOTICE
    wanted = [keys.patient_message_key(batch.subject_ref, kind, patient_id) for patient_id in patient_ids]
    return {message.patient_id: message for message in ScheduledMessage.objects.filter(dedupe_key__in=wanted)}


def patient_recalled_usages(patient: Patient) -> list[BatchUsage]:
    """The recalled batches ``patient`` received (one query), for the flag on the patient page:
    only the columns the flag shows (every patient page asks, nearly always for no row)."""
    return list(
        BatchUsage.objects.filter(session__patient=patient, batch__recalled_at__isnull=False)
        .select_related("batch__product", "session")
        .only(
            "amount",
            "batch__lot_number",
            "batch__recalled_at",
            "batch__recall_reason",
            "batch__product__name",
            "session__number",
            "session__performed_at",
            "session__patient_id",
        )
        .order_by("session__performed_at")
    )


# Stock alerts ------------------------------------------------------------------------


@dataclass(frozen=True)
class LowStock:
    product: Product
    usable_ml: Decimal

    @property
    def threshold(self) -> Decimal:
        return self.product.low_stock_threshold


@dataclass(frozen=True)
class StockAlerts:
    low_stock: list[LowStock]
    expiring: list[Batch]
    expiring_within_days: int

    def __bool__(self) -> bool:
        return bool(self.low_stock or self.expiring)


def stock_alerts(*, today: date | None = None) -> StockAlerts:
    """Products in use whose usable stock (in date, not recalled) is below their threshold, and
    usable batches that expire within EXPIRY_WARNING_DAYS, the soonest first. Two queries."""
    today = today or timezone.localdate()
    usable = Q(batches__expiry_date__gte=today, batches__recalled_at__isnull=True)
    products = (
        Product.objects.active()
        .filter(low_stock_threshold__gt=0)
        .annotate(
            usable_ml=Coalesce(
                Sum("batches__quantity_in_stock", filter=usable),
                Value(Decimal(0)),
                output_field=DecimalField(max_digits=10, decimal_places=2),
            )
        )
        .order_by("name")
    )
    low = [
        LowStock(product, product.usable_ml) for product in products if product.usable_ml < product.low_stock_threshold
    ]
    expiring = list(
        Batch.objects.select_related("product")
        .filter(product__is_active=True, expiry_date__lte=today + timedelta(days=EXPIRY_WARNING_DAYS))
        .usable_on(today)
        .first_expiring_first()
    )
    return StockAlerts(low_stock=low, expiring=expiring, expiring_within_days=EXPIRY_WARNING_DAYS)


# Outcomes chart: small multiples -------------------------------------------------------

MEASURES = (
    ("hydration", "Hydration"),
    ("radiance", "Radiance (glow)"),
    ("fine_lines", "Fine lines"),
    ("satisfaction", "Overall satisfaction"),
)
SMALL_WIDTH, SMALL_HEIGHT = 240, 150
SMALL_PAD_LEFT, SMALL_PAD_RIGHT, SMALL_PAD_TOP, SMALL_PAD_BOTTOM = 26, 12, 12, 26


MARKER_HALF = 3.5


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    number: int  # the session
    score: int

    @property
    def cx(self) -> str:
        return f"{self.x:.1f}"

    @property
    def cy(self) -> str:
        return f"{self.y:.1f}"

    @property
    def corner_x(self) -> str:  # a square marker's top-left corner
        return f"{self.x - MARKER_HALF:.1f}"

    @property
    def corner_y(self) -> str:
        return f"{self.y - MARKER_HALF:.1f}"


@dataclass
class RaterSeries:
    rater: str  # "doctor" or "patient": the CSS class draws a solid line with dots, or dashes with squares
    label: str
    points: list[ChartPoint]

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.cx},{point.cy}" for point in self.points)


@dataclass
class MeasureChart:
    key: str
    label: str
    series: list[RaterSeries]
    rows: list[dict]  # per session: number, doctor score, patient score

    @property
    def has_points(self) -> bool:
        return any(serie.points for serie in self.series)


def outcomes_chart(plan: TreatmentPlan, sessions: list[PlanSessionRow]) -> dict:
    """One small SVG chart per measure (scores 1-5 up, sessions across), the doctor's and the
    patient's ratings drawn in two styles, each with its table; from plan_page_sessions' ratings."""
    count = max(plan.session_count, 2)
    inner_w = SMALL_WIDTH - SMALL_PAD_LEFT - SMALL_PAD_RIGHT
    inner_h = SMALL_HEIGHT - SMALL_PAD_TOP - SMALL_PAD_BOTTOM

    def x_of(number: int) -> float:
        return SMALL_PAD_LEFT + inner_w * (number - 1) / (count - 1)

    def y_of(score: int) -> float:
        return SMALL_PAD_TOP + inner_h * (MAX_RATING - score) / (MAX_RATING - MIN_RATING)

    by_session = {session.pk: session.ratings for session in sessions}
    charts = []
    for key, label in MEASURES:
        series = []
        for rater, rater_label in OutcomeRating.Rater.choices:
            points = [
                ChartPoint(x_of(session.number), y_of(score), session.number, score)
                for session in sessions
                if (rating := by_session[session.pk].get(rater)) is not None
                for score in [getattr(rating, key)]
            ]
            series.append(RaterSeries(rater, rater_label, points))
        rows = [
            {
                "number": session.number,
                "doctor": getattr(by_session[session.pk].get("doctor"), key, None),
                "patient": getattr(by_session[session.pk].get("patient"), key, None),
            }
            for session in sessions
            if by_session[session.pk]
        ]
        charts.append(MeasureChart(key, label, series, rows))
    return {
        "width": SMALL_WIDTH,
        "height": SMALL_HEIGHT,
        "charts": charts,
        "has_ratings": any(chart.has_points for chart in charts),
        "x_ticks": [(x_of(n), n) for n in range(1, plan.session_count + 1)],
        "y_ticks": [(y_of(score), score) for score in range(MIN_RATING, MAX_RATING + 1)],
        "left": SMALL_PAD_LEFT,
        "right": SMALL_WIDTH - SMALL_PAD_RIGHT,
        "top": SMALL_PAD_TOP,
        "bottom": SMALL_HEIGHT - SMALL_PAD_BOTTOM,
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


# The patient page's treatments panel ---------------------------------------------------


@dataclass(frozen=True)
class PatientPanel:
    """What the patient page's treatments panel shows, as plain rows (dicts of the columns):
    the recalled batches the patient received, the last five plans, the last three
    consultations and the concerns raised after a session (open first, then the last done)."""

    recalls: list[dict]
    plans: list[dict]
    consultations: list[dict]
    tasks: list[dict]


# One statement each (combined into one, PostgreSQL takes longer to plan and run them).
_PANEL_RECALLS = PreparedStatement(
    "panel_recalls",
    """
SELECT pr.name AS product, b.lot_number, u.amount, b.id AS batch_id, b.recalled_at, b.recall_reason,
       s.id AS session_id, s.patient_id AS session_patient_id, s.number AS session_number, s.performed_at
  FROM treatments_batchusage u
  JOIN treatments_batch b ON b.id = u.batch_id
  JOIN treatments_product pr ON pr.id = b.product_id
  JOIN treatments_treatmentsession s ON s.id = u.session_id
 WHERE s.patient_id = %(patient)s AND b.recalled_at IS NOT NULL
 ORDER BY s.performed_at
""",
)
_PANEL_PLANS = PreparedStatement(
    "panel_plans",
    """
SELECT id, patient_id, status, session_count, created_at, maintenance_due_on
  FROM treatments_treatmentplan
 WHERE patient_id = %(patient)s
 ORDER BY created_at DESC
 LIMIT 5
""",
)
_PANEL_CONSULTATIONS = PreparedStatement(
    "panel_consultations",
    """
SELECT c.id, c.patient_id, c.status, c.consulted_on, u.first_name, u.last_name, u.username
  FROM treatments_consultation c
  JOIN auth_user u ON u.id = c.doctor_id
 WHERE c.patient_id = %(patient)s
 ORDER BY c.consulted_on DESC, c.created_at DESC
 LIMIT 3
""",
)
_PANEL_TASKS = PreparedStatement(
    "panel_tasks",
    """
SELECT t.id, t.done_at, f.concern, f.answered_at, s.id AS session_id, s.patient_id AS session_patient_id,
       s.number AS session_number, d.first_name, d.last_name, d.username
  FROM treatments_followuptask t
  JOIN treatments_sessionfollowup f ON f.id = t.follow_up_id
  JOIN treatments_treatmentsession s ON s.id = f.session_id
  LEFT JOIN auth_user d ON d.id = t.done_by_id
 WHERE t.patient_id = %(patient)s
 ORDER BY t.done_at DESC NULLS FIRST, t.created_at DESC
 LIMIT 5
""",
)


def _dict_rows(cursor, statement: PreparedStatement, params: dict) -> list[dict]:
    statement.execute(cursor, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def patient_treatment_panel(patient: Patient, *, recalls: bool, clinical: bool) -> PatientPanel:
    """The patient page's treatments panel in written-out statements: the recalled batches
    (``recalls``) and the plans, consultations and concerns (``clinical``); a part not asked
    for is not read and comes empty."""
    params = {"patient": patient.pk}
    with connection.cursor() as cursor:
        recall_rows = _dict_rows(cursor, _PANEL_RECALLS, params) if recalls else []
        if not clinical:
            return PatientPanel(recall_rows, [], [], [])
        return PatientPanel(
            recall_rows,
            _dict_rows(cursor, _PANEL_PLANS, params),
            _dict_rows(cursor, _PANEL_CONSULTATIONS, params),
            _dict_rows(cursor, _PANEL_TASKS, params),
        )
