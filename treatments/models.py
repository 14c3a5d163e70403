"""Treatments: the formulary (ingredients, products, batches), consultations, treatment
plans (courses of four to six weekly sessions, then maintenance every six to twelve
months), session records, outcome ratings, safety overrides and clinical photos.

Signed consultations and session records are locked: the services refuse edits, and
corrections are dated addenda by their author.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone

from messaging import keys

SESSION_INTERVAL = timedelta(weeks=1)
MIN_SESSIONS, MAX_SESSIONS = 4, 6
MIN_MAINTENANCE_MONTHS, MAX_MAINTENANCE_MONTHS = 6, 12
MIN_PAIN, MAX_PAIN = 0, 10
MIN_RATING, MAX_RATING = 1, 5
# A facial mesotherapy session takes well under an hour; a longer record is a typing mistake.
MAX_SESSION_MINUTES = 60
# Stock alerts: a product below its threshold, a batch expiring within this many days.
DEFAULT_LOW_STOCK_ML = Decimal("10.00")
EXPIRY_WARNING_DAYS = 30


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the end of a shorter month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(f"Cannot add {months} months to {day}")  # pragma: no cover - unreachable


class FacialArea(models.TextChoices):
    FOREHEAD = "forehead", "Forehead"
    GLABELLA = "glabella", "Glabella (between the brows)"
    PERIORBITAL_LEFT = "periorbital_left", "Around the left eye"
    PERIORBITAL_RIGHT = "periorbital_right", "Around the right eye"
    CHEEK_LEFT = "cheek_left", "Left cheek"
    CHEEK_RIGHT = "cheek_right", "Right cheek"
    NOSE = "nose", "Nose"
    NASOLABIAL_LEFT = "nasolabial_left", "Left nasolabial fold"
    NASOLABIAL_RIGHT = "nasolabial_right", "Right nasolabial fold"
    PERIORAL = "perioral", "Around the mouth"
    CHIN = "chin", "Chin"
    JAWLINE = "jawline", "Jawline"
    NECK = "neck", "Neck"
    DECOLLETAGE = "decolletage", "Décolletage"


class Technique(models.TextChoices):
    NEEDLE_SYRINGE = "needle_syringe", "Needle and syringe"
    MESO_PEN = "meso_pen", "Meso-pen (microneedling device)"
    NEEDLE_FREE = "needle_free", "Needle-free device"


class NumbingCream(models.TextChoices):
    NONE = "none", "None"
    EMLA = "emla", "Lidocaine 2.5% / prilocaine 2.5% cream (EMLA)"
    LIDOCAINE_4 = "lidocaine_4", "Lidocaine 4% cream (LMX4)"
    LIDOCAINE_TETRACAINE = "lidocaine_tetracaine", "Lidocaine 7% / tetracaine 7% cream"
    OTHER = "other", "Other (see notes)"


# Formulary ---------------------------------------------------------------------------


class Ingredient(models.Model):
    class Category(models.TextChoices):
        VITAMIN = "vitamin", "Vitamin"
        MINERAL = "mineral", "Mineral"
        AMINO_ACID = "amino_acid", "Amino acid"
        HYALURONIC_ACID = "hyaluronic_acid", "Hyaluronic acid"
        PEPTIDE = "peptide", "Peptide"
        ANTIOXIDANT = "antioxidant", "Antioxidant"
        OTHER = "other", "Other"

    class Purpose(models.TextChoices):
        HYDRATION = "hydration", "Hydration"
        RADIANCE = "radiance", "Radiance"
        FINE_LINES = "fine_lines", "Fine lines"
        PIGMENTATION = "pigmentation", "Pigmentation"
        FIRMNESS = "firmness", "Firmness and elasticity"
        ANTIOXIDANT = "antioxidant", "Antioxidant protection"
        REGENERATION = "regeneration", "Skin regeneration"
        DARK_CIRCLES = "dark_circles", "Dark circles"

    name = models.CharField(max_length=120, unique=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    purposes = ArrayField(
        models.CharField(max_length=20, choices=Purpose.choices),
        default=list,
        blank=True,
        help_text="What the ingredient is used for.",
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_purposes_display(self) -> list[str]:
        return [self.Purpose(value).label for value in self.purposes]


class ProductQuerySet(models.QuerySet):
    def active(self) -> ProductQuerySet:
        return self.filter(is_active=True)


class Product(models.Model):
    class Unit(models.TextChoices):
        ML = "ml", "ml"

    name = models.CharField(max_length=120)
    manufacturer = models.CharField(max_length=120)
    presentation = models.CharField(max_length=120, help_text="e.g. '5 vials of 5 ml'.")
    unit = models.CharField(max_length=5, choices=Unit.choices, default=Unit.ML)
    ingredients = models.ManyToManyField(Ingredient, related_name="products", blank=True)
    is_active = models.BooleanField("in use", default=True)
    low_stock_threshold = models.DecimalField(
        "low-stock threshold (ml)",
        max_digits=8,
        decimal_places=2,
        default=DEFAULT_LOW_STOCK_ML,
        # Also the column's default: rows written by older code (and earlier data migrations) get it.
        db_default=DEFAULT_LOW_STOCK_ML,
        validators=[MinValueValidator(Decimal(0))],
        help_text="The formulary and the home page warn when the usable stock of the product falls below this; "
        "0 turns the warning off.",
    )
    notes = models.TextField(blank=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name", "manufacturer"]
        constraints = [
            models.UniqueConstraint(fields=["name", "manufacturer"], name="product_name_manufacturer"),
            models.CheckConstraint(condition=Q(low_stock_threshold__gte=0), name="product_low_stock_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.manufacturer})"


class BatchQuerySet(models.QuerySet):
    def usable_on(self, day: date) -> BatchQuerySet:
        """Batches that may be recorded as used on ``day``: in date, not recalled, in stock."""
        return self.filter(expiry_date__gte=day, recalled_at__isnull=True, quantity_in_stock__gt=0)

    def first_expiring_first(self) -> BatchQuerySet:
        """The order a doctor should use them in: the soonest expiry first."""
        return self.order_by("expiry_date", "received_on", "lot_number", "id")


class Batch(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="batches")
    lot_number = models.CharField(max_length=60)
    expiry_date = models.DateField()
    quantity_in_stock = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
        help_text="In the product's unit (ml).",
    )
    received_on = models.DateField(default=timezone.localdate)
    recalled_at = models.DateTimeField(null=True, blank=True)
    recall_reason = models.TextField(blank=True)
    recalled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )

    objects = BatchQuerySet.as_manager()

    SUBJECT = "batch"  # what its outbox rows are about: "batch:<id>" (messaging.keys)

    class Meta:
        ordering = ["product__name", "expiry_date", "lot_number"]
        verbose_name_plural = "batches"
        permissions = [
            ("trace_batch", "Can see which patients received a batch"),
            ("recall_batch", "Can recall a batch and notify the patients who received it"),
        ]
        indexes = [
            # "Who got lot X": the lot number typed in any case finds its batches by index.
            models.Index(Upper("lot_number"), name="batch_lot_upper"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["product", "lot_number"], name="batch_product_lot"),
            models.CheckConstraint(condition=Q(quantity_in_stock__gte=0), name="batch_stock_not_negative"),
            models.CheckConstraint(
                condition=Q(recalled_at__isnull=True) | ~Q(recall_reason=""), name="batch_recall_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} lot {self.lot_number} (exp. {self.expiry_date:%d/%m/%Y})"

    def get_absolute_url(self) -> str:
        return reverse("treatments:batch_trace", args=[self.pk])

    def clean(self) -> None:
        if self.recalled_at is not None and not self.recall_reason.strip():
            raise ValidationError({"recall_reason": "Give the reason for the recall."})

    @property
    def is_recalled(self) -> bool:
        return self.recalled_at is not None

    def is_expired_on(self, day: date) -> bool:
        return self.expiry_date < day

    @property
    def subject_ref(self) -> str:
        return keys.subject_ref(self.SUBJECT, self.pk)


# Consultation ------------------------------------------------------------------------


class Consultation(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"

    class Concern(models.TextChoices):
        FINE_LINES = "fine_lines", "Fine lines"
        WRINKLES = "wrinkles", "Wrinkles"
        PIGMENTATION = "pigmentation", "Pigmentation"
        DULL_SKIN = "dull_skin", "Dull skin"
        DEHYDRATION = "dehydration", "Dehydration"
        LAXITY = "laxity", "Laxity"
        OTHER = "other", "Other"

    class Suitability(models.TextChoices):
        SUITABLE = "suitable", "Suitable for mesotherapy"
        WITH_PRECAUTIONS = "with_precautions", "Suitable, with precautions"
        NOT_SUITABLE = "not_suitable", "Not suitable"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="consultations")
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consultations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    consulted_on = models.DateField(default=timezone.localdate)
    concerns = ArrayField(models.CharField(max_length=20, choices=Concern.choices), default=list, blank=True)
    concerns_other = models.CharField("other concern", max_length=200, blank=True)
    goals = models.TextField("the patient's goals", blank=True)
    examination = models.TextField("examination findings", blank=True)
    history_reviewed = models.BooleanField("medical history reviewed with the patient", default=False)
    history_changes = models.TextField("what changed in the medical history", blank=True)
    routine_reviewed = models.BooleanField("skin routine reviewed with the patient", default=False)
    routine_changes = models.TextField("what changed in the skin routine", blank=True)
    assessment = models.TextField(blank=True)
    suitability = models.CharField(max_length=20, choices=Suitability.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-consulted_on", "-created_at"]
        indexes = [models.Index(fields=["patient", "consulted_on"], name="consultation_patient_day")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="draft") & Q(signed_at__isnull=True))
                | (Q(status="signed") & Q(signed_at__isnull=False)),
                name="consultation_signed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | (Q(history_reviewed=True) & Q(routine_reviewed=True) & ~Q(suitability="")),
                name="consultation_signed_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"Consultation of {self.consulted_on:%d/%m/%Y} ({self.patient})"

    def get_absolute_url(self) -> str:
        return reverse("treatments:consultation_detail", args=[self.patient_id, self.pk])

    @property
    def is_signed(self) -> bool:
        return self.status == self.Status.SIGNED

    def get_concerns_display(self) -> list[str]:
        return [self.Concern(value).label for value in self.concerns]


class Addendum(models.Model):
    """A dated correction or addition to a signed record, by its author: signed records are
    never rewritten."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(default=timezone.now, editable=False)
    text = models.TextField()

    class Meta:
        abstract = True
        ordering = ["written_at", "id"]

    def __str__(self) -> str:
        return f"Addendum of {self.written_at:%d/%m/%Y %H:%M} to {self.record}"


class ConsultationAddendum(Addendum):
    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="addenda")

    class Meta(Addendum.Meta):
        verbose_name = "consultation addendum"
        verbose_name_plural = "consultation addenda"
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="consultation_addendum_not_empty")]

    @property
    def record(self) -> Consultation:
        return self.consultation


# Treatment plan ----------------------------------------------------------------------


class TreatmentPlanQuerySet(models.QuerySet):
    def open(self) -> TreatmentPlanQuerySet:
        return self.filter(status__in=[TreatmentPlan.Status.PROPOSED, TreatmentPlan.Status.ACTIVE])


class TreatmentPlan(models.Model):
    """A course of mesotherapy: ``session_count`` sessions one week apart, then a
    maintenance session every ``maintenance_interval_months``."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    SUBJECT = "plan"  # what its outbox rows are about: "plan:<id>" (messaging.keys)

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="treatment_plans")
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="treatment_plans")
    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="plans")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    session_count = models.PositiveSmallIntegerField(
        "number of sessions",
        validators=[MinValueValidator(MIN_SESSIONS), MaxValueValidator(MAX_SESSIONS)],
        help_text=f"From {MIN_SESSIONS} to {MAX_SESSIONS} sessions, one week apart.",
    )
    maintenance_interval_months = models.PositiveSmallIntegerField(
        "maintenance interval (months)",
        validators=[MinValueValidator(MIN_MAINTENANCE_MONTHS), MaxValueValidator(MAX_MAINTENANCE_MONTHS)],
        help_text=f"From {MIN_MAINTENANCE_MONTHS} to {MAX_MAINTENANCE_MONTHS} months after the last session.",
    )
    technique = models.CharField(max_length=20, choices=Technique.choices)
    numbing_cream = models.CharField(max_length=25, choices=NumbingCream.choices, default=NumbingCream.EMLA)
    areas = ArrayField(
        models.CharField(max_length=20, choices=FacialArea.choices), default=list, verbose_name="facial areas"
    )
    starts_on = models.DateField("first session on", null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    cancellation_reason = models.TextField(blank=True)
    maintenance_due_on = models.DateField(null=True, blank=True)

    objects = TreatmentPlanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "status"], name="plan_patient_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(session_count__gte=MIN_SESSIONS) & Q(session_count__lte=MAX_SESSIONS),
                name="plan_session_count_range",
            ),
            models.CheckConstraint(
                condition=Q(maintenance_interval_months__gte=MIN_MAINTENANCE_MONTHS)
                & Q(maintenance_interval_months__lte=MAX_MAINTENANCE_MONTHS),
                name="plan_maintenance_interval_range",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | (Q(cancelled_at__isnull=False) & ~Q(cancellation_reason="")),
                name="plan_cancelled_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(maintenance_due_on__isnull=False),
                name="plan_completed_has_maintenance",
            ),
        ]
        verbose_name = "treatment plan"

    def __str__(self) -> str:
        return f"Mesotherapy course, {self.session_count} sessions ({self.patient})"

    def get_absolute_url(self) -> str:
        return reverse("treatments:plan_detail", args=[self.patient_id, self.pk])

    def get_areas_display(self) -> list[str]:
        return [FacialArea(value).label for value in self.areas]

    @property
    def is_open(self) -> bool:
        return self.status in {self.Status.PROPOSED, self.Status.ACTIVE}

    def planned_dates(self) -> list[date]:
        """The planned session dates, one week apart from ``starts_on``."""
        if self.starts_on is None:
            return []
        return [self.starts_on + SESSION_INTERVAL * index for index in range(self.session_count)]

    @property
    def sessions_done(self) -> int:
        # A course has at most six sessions: read them (or the page's prefetched ones) and count.
        return sum(1 for session in self.sessions.all() if session.is_signed)

    @property
    def sessions_remaining(self) -> int:
        return max(self.session_count - self.sessions_done, 0)

    def maintenance_due_after(self, last_session_on: date) -> date:
        return add_months(last_session_on, self.maintenance_interval_months)

    @property
    def subject_ref(self) -> str:
        return keys.subject_ref(self.SUBJECT, self.pk)


class PlanProduct(models.Model):
    """One product of the plan's cocktail and the amount injected per session."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="plan_products")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    amount_per_session = models.DecimalField(
        "amount per session (ml)", max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "product"], name="planproduct_once_per_plan"),
            models.CheckConstraint(condition=Q(amount_per_session__gt=0), name="planproduct_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product.name}: {self.amount_per_session} ml"


# Session record ----------------------------------------------------------------------


class TreatmentSession(models.Model):
    SUBJECT = "session"  # what its outbox rows are about: "session:<id>" (messaging.keys)

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"

    class Reaction(models.TextChoices):
        BRUISING = "bruising", "Bruising"
        SWELLING = "swelling", "Swelling"
        REDNESS = "redness", "Redness"
        OTHER = "other", "Other"

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="sessions")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="treatment_sessions")
    number = models.PositiveSmallIntegerField(
        "session number", validators=[MinValueValidator(1), MaxValueValidator(MAX_SESSIONS)]
    )
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="treatment_sessions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    performed_at = models.DateTimeField("session time", default=timezone.now)
    numbing_applied_at = models.DateTimeField("numbing cream applied at", null=True, blank=True)
    technique = models.CharField(max_length=20, choices=Technique.choices)
    areas = ArrayField(
        models.CharField(max_length=20, choices=FacialArea.choices), default=list, verbose_name="facial areas"
    )
    injection_sites = models.TextField("injection sites and depth", blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        "duration (minutes)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SESSION_MINUTES)],
        help_text=f"At most {MAX_SESSION_MINUTES} minutes.",
    )
    pain_score = models.PositiveSmallIntegerField(
        "pain score (0-10)",
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_PAIN), MaxValueValidator(MAX_PAIN)],
    )
    reactions = ArrayField(
        models.CharField(max_length=20, choices=Reaction.choices),
        default=list,
        blank=True,
        verbose_name="immediate reactions",
    )
    reactions_other = models.CharField("other reaction", max_length=200, blank=True)
    aftercare_given = models.TextField("aftercare advice given", blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["plan", "number"]
        indexes = [
            models.Index(fields=["patient", "performed_at"], name="session_patient_time"),
            # "Who got lot X" reads a lot's latest sessions newest first and stops after a page.
            models.Index(fields=["-performed_at", "-id"], name="session_latest_first"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="session_number_once_per_plan"),
            models.CheckConstraint(
                condition=Q(number__gte=1) & Q(number__lte=MAX_SESSIONS), name="session_number_range"
            ),
            models.CheckConstraint(
                condition=Q(pain_score__isnull=True) | (Q(pain_score__gte=MIN_PAIN) & Q(pain_score__lte=MAX_PAIN)),
                name="session_pain_score_range",
            ),
            models.CheckConstraint(
                condition=(Q(status="draft") & Q(signed_at__isnull=True))
                | (Q(status="signed") & Q(signed_at__isnull=False)),
                name="session_signed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__isnull=True)
                | (Q(duration_minutes__gte=1) & Q(duration_minutes__lte=MAX_SESSION_MINUTES)),
                name="session_duration_at_most_an_hour",
            ),
        ]
        verbose_name = "treatment session"

    def __str__(self) -> str:
        return f"Session {self.number} of {self.plan.session_count} ({self.performed_at:%d/%m/%Y})"

    def get_absolute_url(self) -> str:
        return reverse("treatments:session_detail", args=[self.patient_id, self.pk])

    @property
    def is_signed(self) -> bool:
        return self.status == self.Status.SIGNED

    def get_areas_display(self) -> list[str]:
        return [FacialArea(value).label for value in self.areas]

    def get_reactions_display(self) -> list[str]:
        return [self.Reaction(value).label for value in self.reactions]

    @property
    def subject_ref(self) -> str:
        return keys.subject_ref(self.SUBJECT, self.pk)


class SessionAddendum(Addendum):
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="addenda")

    class Meta(Addendum.Meta):
        verbose_name = "session addendum"
        verbose_name_plural = "session addenda"
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="session_addendum_not_empty")]

    @property
    def record(self) -> TreatmentSession:
        return self.session


class BatchUsage(models.Model):
    """A batch used in a session and how much of it."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.CASCADE, related_name="batch_usages")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="usages")
    amount = models.DecimalField(
        "amount (ml)", max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "batch"], name="batchusage_once_per_session"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="batchusage_amount_positive"),
        ]
        verbose_name = "batch used"
        verbose_name_plural = "batches used"

    def __str__(self) -> str:
        return f"{self.batch}: {self.amount} ml"


class OutcomeRating(models.Model):
    """The doctor's or the patient's rating of the result at a session, 1 (poor) to 5 (excellent)."""

    class Rater(models.TextChoices):
        DOCTOR = "doctor", "Doctor"
        PATIENT = "patient", "Patient"

    session = models.ForeignKey(TreatmentSession, on_delete=models.CASCADE, related_name="ratings")
    rater = models.CharField(max_length=10, choices=Rater.choices)
    hydration = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_RATING), MaxValueValidator(MAX_RATING)]
    )
    radiance = models.PositiveSmallIntegerField(
        "radiance (glow)", validators=[MinValueValidator(MIN_RATING), MaxValueValidator(MAX_RATING)]
    )
    fine_lines = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_RATING), MaxValueValidator(MAX_RATING)]
    )
    satisfaction = models.PositiveSmallIntegerField(
        "overall satisfaction", validators=[MinValueValidator(MIN_RATING), MaxValueValidator(MAX_RATING)]
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    SCORES = ("hydration", "radiance", "fine_lines", "satisfaction")

    class Meta:
        ordering = ["session", "rater"]
        constraints = [
            models.UniqueConstraint(fields=["session", "rater"], name="rating_once_per_rater"),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{score}__gte": MIN_RATING}) & Q(**{f"{score}__lte": MAX_RATING}),
                    name=f"rating_{score}_range",
                )
                for score in ("hydration", "radiance", "fine_lines", "satisfaction")
            ],
        ]
        verbose_name = "outcome rating"

    def __str__(self) -> str:
        return f"{self.get_rater_display()} rating of session {self.session_id}"


class SafetyOverride(models.Model):
    """A doctor's decision to go ahead despite a blocking safety finding, with the reason."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="safety_overrides")
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="safety_overrides")
    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, null=True, blank=True, related_name="safety_overrides"
    )
    finding_code = models.CharField(max_length=80)
    finding = models.CharField(max_length=300)
    reason = models.TextField()
    overridden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    overridden_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-overridden_at"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="safetyoverride_has_reason")]
        verbose_name = "safety override"

    def __str__(self) -> str:
        return f"Override of '{self.finding}' by {self.overridden_by}"


class Photo(models.Model):
    """A clinical photo, re-encoded without metadata, stored under PRIVATE_MEDIA_ROOT."""

    class Kind(models.TextChoices):
        BEFORE = "before", "Before"
        AFTER = "after", "After"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="treatment_photos")
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="photos")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    view = models.CharField("view", max_length=60, blank=True, help_text="e.g. front, left profile.")
    path = models.CharField(max_length=255, unique=True, editable=False)
    content_type = models.CharField(max_length=30, editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    size_bytes = models.PositiveIntegerField(editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["session_id", "kind", "uploaded_at"]
        verbose_name = "clinical photo"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} photo, session {self.session.number}"


# Maintenance recall and the next-day follow-up ------------------------------------------


class MaintenanceRecall(models.Model):
    """The desk's worklist row for the maintenance of one completed course: where the call or
    email stands and what was said. A completed plan without a row is simply "due"; the row
    is made the first time someone changes its status or notes."""

    class Status(models.TextChoices):
        DUE = "due", "Due"
        CONTACTED = "contacted", "Contacted"
        BOOKED = "booked", "Booked"
        DECLINED = "declined", "Declined"
        NOT_SUITABLE = "not_suitable", "Not suitable"

    plan = models.OneToOneField(TreatmentPlan, on_delete=models.PROTECT, related_name="recall")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="maintenance_recalls")
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.DUE)
    notes = models.TextField(blank=True, help_text="Administrative notes only: calls made, answers given.")
    # The proposed course made from this one ("Propose the next course").
    next_plan = models.ForeignKey(
        TreatmentPlan, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    status_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        ordering = ["plan__maintenance_due_on", "id"]
        verbose_name = "maintenance recall"

    def __str__(self) -> str:
        return f"Maintenance recall of {self.patient} ({self.get_status_display()})"


class SessionFollowUp(models.Model):
    """The patient's answer to the next-day email after a session: all fine, or a concern in
    their words. One answer per session: the first one stands."""

    class Answer(models.TextChoices):
        ALL_FINE = "all_fine", "All fine"
        CONCERN = "concern", "I have a concern"

    MAX_CONCERN_LENGTH = 1000

    session = models.OneToOneField(TreatmentSession, on_delete=models.PROTECT, related_name="follow_up")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="session_follow_ups")
    answer = models.CharField(max_length=10, choices=Answer.choices)
    concern = models.TextField(blank=True)
    answered_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-answered_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(answer="all_fine", concern="") | (Q(answer="concern") & ~Q(concern="")),
                name="followup_concern_has_text",
            ),
        ]
        verbose_name = "session follow-up"

    def __str__(self) -> str:
        return f"{self.get_answer_display()} after session {self.session_id}"


class FollowUpTaskQuerySet(models.QuerySet):
    def open(self) -> FollowUpTaskQuerySet:
        return self.filter(done_at__isnull=True)


class FollowUpTask(models.Model):
    """A concern a patient raised after a session, for the doctor to deal with and mark done."""

    follow_up = models.OneToOneField(SessionFollowUp, on_delete=models.PROTECT, related_name="task")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="follow_up_tasks")
    # The doctor who gave the session: the task is on their home page first.
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="follow_up_tasks")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    done_at = models.DateTimeField(null=True, blank=True, editable=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )

    objects = FollowUpTaskQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["doctor"], condition=Q(done_at__isnull=True), name="followuptask_open")]
        constraints = [
            models.CheckConstraint(
                condition=Q(done_at__isnull=True, done_by__isnull=True)
                | Q(done_at__isnull=False, done_by__isnull=False),
                name="followuptask_done_has_author",
            ),
        ]
        verbose_name = "follow-up task"

    def __str__(self) -> str:
        return f"Follow-up concern of {self.patient}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
