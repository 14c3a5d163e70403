from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Concat, Lower
from django.utils import timezone


class Unaccent(models.Func):
    """``clinic_unaccent(text)``: an IMMUTABLE wrapper around PostgreSQL's unaccent, created
    by migration 0001, so that it can be used in a generated column and an index."""

    function = "clinic_unaccent"
    output_field = models.TextField()


def search_key_expression():
    return Lower(Unaccent(Concat("first_name", models.Value(" "), "last_name", output_field=models.TextField())))


# The words of a search key ("maria del carreno-gordillo": maria, del, carreno, gordillo).
SEARCH_WORD_SEPARATORS = "[ .-]+"


def search_words_expression():
    """The words of ``search_key`` as an array, indexed (GIN) so that the patients bearing any
    of a few words are found at once; the same expression in the index and the queries."""
    return models.Func(
        "search_key",
        models.Value(SEARCH_WORD_SEPARATORS),
        function="regexp_split_to_array",
        output_field=ArrayField(models.TextField()),
    )


class PatientQuerySet(models.QuerySet):
    def active(self) -> PatientQuerySet:
        return self.filter(archived_at__isnull=True)


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNDISCLOSED = "undisclosed", "Prefer not to say"

    class ContactChannel(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone call"
        SMS = "sms", "Text message"

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=12, choices=Sex.choices)
    phone = models.CharField(max_length=20, blank=True, help_text="Stored in E.164, e.g. +447700900123.")
    email = models.EmailField(blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField("town or city", max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_relationship = models.CharField(max_length=100, blank=True)
    emergency_contact_phone = models.CharField(max_length=20, blank=True)
    preferred_contact_channel = models.CharField(
        max_length=10, choices=ContactChannel.choices, default=ContactChannel.EMAIL
    )
    reminder_emails_consent = models.BooleanField(
        "consents to reminder emails",
        default=False,
        help_text="Maintenance recalls and other optional emails are only sent with this consent.",
    )
    reminder_emails_consent_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    email_unsubscribed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Set by the unsubscribe link: no email is sent after it."
    )
    reception_notes = models.TextField(
        "notes for reception", blank=True, help_text="Administrative notes only: no clinical information."
    )
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set on the placeholder that keeps an erased patient's appointments (patients/erasure.py).
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    updated_at = models.DateTimeField(auto_now=True)
    # Lower-case, accent-free "first last", kept by PostgreSQL itself and indexed for search.
    search_key = models.GeneratedField(
        expression=search_key_expression(), output_field=models.TextField(), db_persist=True
    )

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        permissions = [
            ("view_clinical", "Can view clinical records"),
            ("record_clinical", "Can record clinical data"),
            ("archive_patient", "Can archive and restore patients"),
            ("import_patients", "Can import patients from a CSV file"),
        ]
        indexes = [
            GinIndex(OpClass("search_key", name="gin_trgm_ops"), name="patient_search_key_trgm"),
            GinIndex(search_words_expression(), name="patient_search_words"),
            GinIndex(OpClass("phone", name="gin_trgm_ops"), name="patient_phone_trgm"),
            models.Index(fields=["phone"], name="patient_phone"),
            models.Index(fields=["email"], name="patient_email"),
            models.Index(fields=["date_of_birth"], name="patient_dob"),
            models.Index(fields=["last_name", "first_name", "id"], name="patient_name_order"),
            # New patients per week (reports) read a period of registrations, not the whole table.
            models.Index(fields=["created_at"], name="patient_created_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(date_of_birth__gte=date(1900, 1, 1)), name="patient_dob_after_1900"),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="patient_email_lowercase"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def age(self) -> int:
        return self.age_on(timezone.localdate())


class NameWord(models.Model):
    """Every word of every patient's search key, once: the list the search looks a misspelt
    word up in (patients/selectors.py). Filled by PostgreSQL triggers on the patient table
    (migration 0005_patient_search_words); a word nobody bears any more finds nobody."""

    word = models.TextField(primary_key=True)

    def __str__(self) -> str:
        return self.word


class Source(models.TextChoices):
    CLINIC = "clinic", "Recorded by the clinic"
    PATIENT = "patient", "Reported by the patient, reviewed by a doctor"


def reviewed_if_reported(prefix: str) -> models.CheckConstraint:
    """What the patient reported reaches the record only through a doctor's review."""
    return models.CheckConstraint(
        condition=~Q(source=Source.PATIENT) | Q(reviewed_by__isnull=False), name=f"{prefix}_patient_source_reviewed"
    )


class VersionedRecord(models.Model):
    """A clinical record that is never rewritten: a change writes a new version with the
    same ``lineage`` and marks the previous one superseded. The current version of a
    lineage is the one with no ``superseded_at``."""

    lineage = models.UUIDField(default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    superseded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Who gave the information: the clinic's staff, or the patient in the intake questionnaire.
    # A patient's answer becomes a version only when a doctor accepts it (``reviewed_by``).
    source = models.CharField(
        max_length=10, choices=Source.choices, default=Source.CLINIC, db_default=Source.CLINIC, editable=False
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def reported_by_patient(self) -> bool:
        return self.source == Source.PATIENT

    @property
    def is_superseded(self) -> bool:
        return self.superseded_at is not None


class VersionedQuerySet(models.QuerySet):
    def current(self):
        return self.filter(superseded_at__isnull=True)


class HistoryItem(VersionedRecord):
    """One entry of a patient's medical history: a condition, an allergy, a medication or a
    previous aesthetic treatment. The codes are what the treatment safety check reads."""

    class Category(models.TextChoices):
        CONDITION = "condition", "Condition"
        ALLERGY = "allergy", "Allergy"
        MEDICATION = "medication", "Medication"
        PREVIOUS_TREATMENT = "previous_treatment", "Previous aesthetic treatment"

    class Code(models.TextChoices):
        # Conditions
        AUTOIMMUNE = "autoimmune", "Autoimmune disease"
        DIABETES = "diabetes", "Diabetes"
        BLEEDING_DISORDER = "bleeding_disorder", "Bleeding disorder"
        KELOID = "keloid", "Keloid or hypertrophic scarring tendency"
        SKIN_INFECTION = "skin_infection", "Active skin infection"
        HERPES = "herpes", "Herpes simplex (cold sores)"
        EPILEPSY = "epilepsy", "Epilepsy"
        CANCER = "cancer", "Cancer (current treatment)"
        # Allergies
        LOCAL_ANAESTHETIC = "local_anaesthetic", "Local anaesthetic (e.g. lidocaine)"
        INGREDIENT = "ingredient", "Mesotherapy ingredient"
        LATEX = "latex", "Latex"
        # Medications
        ANTICOAGULANT = "anticoagulant", "Anticoagulant or antiplatelet"
        ISOTRETINOIN = "isotretinoin", "Isotretinoin"
        IMMUNOSUPPRESSANT = "immunosuppressant", "Immunosuppressant"
        # Previous treatments
        MESOTHERAPY = "mesotherapy", "Mesotherapy"
        BOTULINUM_TOXIN = "botulinum_toxin", "Botulinum toxin"
        DERMAL_FILLER = "dermal_filler", "Dermal filler"
        CHEMICAL_PEEL = "chemical_peel", "Chemical peel"
        LASER = "laser", "Laser or light treatment"
        MICRONEEDLING = "microneedling", "Microneedling"
        OTHER = "other", "Other"

    PLURAL_LABELS: dict[str, str] = {
        Category.CONDITION: "Conditions",
        Category.ALLERGY: "Allergies",
        Category.MEDICATION: "Medications",
        Category.PREVIOUS_TREATMENT: "Previous aesthetic treatments",
    }

    CODES_BY_CATEGORY: dict[str, list[str]] = {
        Category.CONDITION: [
            Code.AUTOIMMUNE, Code.DIABETES, Code.BLEEDING_DISORDER, Code.KELOID, Code.SKIN_INFECTION,
            Code.HERPES, Code.EPILEPSY, Code.CANCER, Code.OTHER,
        ],
        Category.ALLERGY: [Code.LOCAL_ANAESTHETIC, Code.INGREDIENT, Code.LATEX, Code.OTHER],
        Category.MEDICATION: [Code.ANTICOAGULANT, Code.ISOTRETINOIN, Code.IMMUNOSUPPRESSANT, Code.OTHER],
        Category.PREVIOUS_TREATMENT: [
            Code.MESOTHERAPY, Code.BOTULINUM_TOXIN, Code.DERMAL_FILLER, Code.CHEMICAL_PEEL, Code.LASER,
            Code.MICRONEEDLING, Code.OTHER,
        ],
    }  # fmt: skip

    class Status(models.TextChoices):
        CURRENT = "current", "Current"
        PAST = "past", "Past"
        ENTERED_IN_ERROR = "entered_in_error", "Entered in error"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="history_items")
    category = models.CharField(max_length=20, choices=Category.choices)
    code = models.CharField("type", max_length=20, choices=Code.choices)
    name = models.CharField(
        max_length=200, help_text="The condition, substance, medicine or treatment, e.g. 'lidocaine', 'warfarin'."
    )
    details = models.TextField(blank=True, help_text="Reaction, dose, severity, or other details.")
    started_on = models.DateField("since / date", null=True, blank=True)
    ended_on = models.DateField("until", null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CURRENT)

    objects = VersionedQuerySet.as_manager()

    class Meta:
        ordering = ["category", "-recorded_at"]
        constraints = [
            models.UniqueConstraint(fields=["lineage", "version"], name="historyitem_lineage_version"),
            models.UniqueConstraint(
                fields=["lineage"], condition=Q(superseded_at__isnull=True), name="historyitem_one_current"
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True)
                | Q(started_on__isnull=True)
                | Q(ended_on__gte=models.F("started_on")),
                name="historyitem_ends_after_start",
            ),
            reviewed_if_reported("historyitem"),
        ]
        indexes = [models.Index(fields=["patient", "category"], name="historyitem_patient_cat")]
        verbose_name = "medical history entry"
        verbose_name_plural = "medical history entries"

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.name}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.CURRENT


class SkinProfile(VersionedRecord):
    """Skin type, concerns, pregnancy, skin routine and lifestyle: one current version per
    patient (all versions of a patient share one lineage)."""

    class Fitzpatrick(models.TextChoices):
        I = "I", "I: always burns, never tans"  # noqa: E741
        II = "II", "II: usually burns, tans minimally"
        III = "III", "III: sometimes burns, tans uniformly"
        IV = "IV", "IV: burns minimally, always tans well"
        V = "V", "V: very rarely burns, tans very easily"
        VI = "VI", "VI: never burns"

    class Concern(models.TextChoices):
        FINE_LINES = "fine_lines", "Fine lines"
        WRINKLES = "wrinkles", "Wrinkles"
        PIGMENTATION = "pigmentation", "Pigmentation"
        DULLNESS = "dullness", "Dull skin"
        DEHYDRATION = "dehydration", "Dehydration"
        LAXITY = "laxity", "Laxity"
        ACNE_SCARS = "acne_scars", "Acne scars"
        DARK_CIRCLES = "dark_circles", "Dark circles"

    class Pregnancy(models.TextChoices):
        UNKNOWN = "unknown", "Not asked yet"
        NOT_APPLICABLE = "not_applicable", "Not applicable"
        NO = "no", "Not pregnant or breastfeeding"
        PREGNANT = "pregnant", "Pregnant"
        BREASTFEEDING = "breastfeeding", "Breastfeeding"
        TRYING = "trying", "Trying to conceive"

    class Active(models.TextChoices):
        RETINOID = "retinoid", "Retinoid (retinol, tretinoin)"
        AHA = "aha", "AHA (glycolic, lactic acid)"
        BHA = "bha", "BHA (salicylic acid)"
        VITAMIN_C = "vitamin_c", "Vitamin C"
        NIACINAMIDE = "niacinamide", "Niacinamide"
        BENZOYL_PEROXIDE = "benzoyl_peroxide", "Benzoyl peroxide"

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        SOMETIMES = "sometimes", "Sometimes"
        RARELY = "rarely", "Rarely or never"

    class Level(models.TextChoices):
        LOW = "low", "Low"
        MODERATE = "moderate", "Moderate"
        HIGH = "high", "High"

    class Smoking(models.TextChoices):
        NEVER = "never", "Never"
        FORMER = "former", "Former smoker"
        CURRENT = "current", "Smokes"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="skin_profiles")
    fitzpatrick_type = models.CharField("Fitzpatrick skin type", max_length=3, choices=Fitzpatrick.choices, blank=True)
    concerns = ArrayField(models.CharField(max_length=20, choices=Concern.choices), default=list, blank=True)
    pregnancy = models.CharField(
        "pregnancy or breastfeeding", max_length=20, choices=Pregnancy.choices, default=Pregnancy.UNKNOWN
    )
    cleanser = models.CharField(max_length=200, blank=True)
    actives = ArrayField(
        models.CharField(max_length=20, choices=Active.choices),
        default=list,
        blank=True,
        verbose_name="active products",
    )
    sunscreen_use = models.CharField(max_length=10, choices=Frequency.choices, blank=True)
    routine_notes = models.TextField("other products and routine", blank=True)
    sun_exposure = models.CharField(max_length=10, choices=Level.choices, blank=True)
    smoking = models.CharField(max_length=10, choices=Smoking.choices, blank=True)
    stress = models.CharField("stress level", max_length=10, choices=Level.choices, blank=True)
    lifestyle_notes = models.TextField(blank=True)

    objects = VersionedQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["lineage", "version"], name="skinprofile_lineage_version"),
            models.UniqueConstraint(
                fields=["patient"], condition=Q(superseded_at__isnull=True), name="skinprofile_one_current"
            ),
            reviewed_if_reported("skinprofile"),
        ]
        verbose_name = "skin profile"

    def __str__(self) -> str:
        return f"Skin profile v{self.version} of {self.patient}"

    def get_concerns_display(self) -> list[str]:
        return [self.Concern(value).label for value in self.concerns]

    def get_actives_display(self) -> list[str]:
        return [self.Active(value).label for value in self.actives]


class ConsentDocumentQuerySet(models.QuerySet):
    def in_effect(self, on: date | None = None) -> ConsentDocumentQuerySet:
        return self.filter(effective_from__lte=on or timezone.localdate())

    def current(self, on: date | None = None) -> ConsentDocumentQuerySet:
        """The version of each procedure's text that patients agree to now: the newest one in
        effect. Earlier versions are superseded; later ones are not in effect yet."""
        newest = self.model.objects.in_effect(on).order_by("procedure", "-version").distinct("procedure")
        # A subquery, so that filtering the result (e.g. by pk in a form) never brings back a
        # superseded version: a WHERE on the DISTINCT ON query itself would run before DISTINCT.
        return self.filter(pk__in=newest.values("pk"))


class ConsentDocument(models.Model):
    """The text a patient consents to. Versioned: a new wording is a new version, and a
    version once given is never changed."""

    class Procedure(models.TextChoices):
        MESOTHERAPY = "mesotherapy", "Facial mesotherapy"
        PHOTOGRAPHY = "photography", "Clinical photography"

    procedure = models.CharField(max_length=20, choices=Procedure.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    effective_from = models.DateField(default=timezone.localdate)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ConsentDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["procedure", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "version"], name="consentdocument_procedure_version"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class ConsentRecordQuerySet(models.QuerySet):
    def in_force(self):
        return self.filter(withdrawn_at__isnull=True)


def consent_signature_hash(
    *, document: ConsentDocument, patient_id: int, signed_name: str, signed_at: datetime, signature_png: bytes
) -> str:
    """SHA-256 binding the agreed text (procedure, version and the exact wording), the drawn
    signature, the patient, the typed name and the moment of signing. Each part is length-prefixed
    so that no two different records can be concatenated into the same input."""
    parts = [
        b"clinic-consent-v1",
        document.procedure.encode(),
        str(document.version).encode(),
        hashlib.sha256(document.body.encode()).hexdigest().encode(),
        str(patient_id).encode(),
        signed_name.encode(),
        signed_at.astimezone(UTC).isoformat(timespec="microseconds").encode(),
        bytes(signature_png),
    ]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class ConsentRecord(models.Model):
    """A patient's informed consent. Never edited: it can only be withdrawn."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="records")
    given_at = models.DateTimeField()
    witnessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawal_reason = models.TextField(blank=True)
    # Signed by the patient on the clinic's tablet: the drawn signature (a re-encoded PNG, kept
    # in the database with the record so the two can never part), the name they typed and when.
    # Records made before patient signatures have none of these (all four empty).
    # (db_default: rows written in bulk by COPY, e.g. seed_large, are records without a signature.)
    signature_png = models.BinaryField(blank=True, default=b"", db_default=b"", editable=False)
    signed_name = models.CharField(
        "name typed by the patient", max_length=200, blank=True, default="", db_default="", editable=False
    )
    signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    signature_sha256 = models.CharField(max_length=64, blank=True, default="", db_default="", editable=False)

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-given_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(withdrawn_at__isnull=True) & Q(withdrawn_by__isnull=True))
                | (Q(withdrawn_at__isnull=False) & Q(withdrawn_by__isnull=False) & ~Q(withdrawal_reason="")),
                name="consentrecord_withdrawal_complete",
            ),
            models.CheckConstraint(
                condition=(
                    Q(signed_at__isnull=True) & Q(signed_name="") & Q(signature_sha256="") & Q(signature_png=b"")
                )
                | (
                    Q(signed_at__isnull=False)
                    & ~Q(signed_name="")
                    & Q(signature_sha256__regex=r"^[0-9a-f]{64}$")
                    & ~Q(signature_png=b"")
                ),
                name="consentrecord_signature_complete",
            ),
        ]
        verbose_name = "consent record"

    def __str__(self) -> str:
        return f"{self.document} — {self.patient}"

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def compute_signature_hash(self) -> str:
        return consent_signature_hash(
            document=self.document,
            patient_id=self.patient_id,
            signed_name=self.signed_name,
            signed_at=self.signed_at,
            signature_png=self.signature_png,
        )

    @property
    def signature_hash_matches(self) -> bool:
        """The stored hash still matches the text, signature, patient and time it was made of."""
        return self.is_signed and self.signature_sha256 == self.compute_signature_hash()


class ErasureRequest(models.Model):
    """A request to erase a patient's personal data, or the retention job's proposal to purge
    a record whose retention period is over, and what came of it. Kept after the patient
    record is gone: ``patient_number`` is the number the record had (no name is kept)."""

    class Source(models.TextChoices):
        PATIENT = "patient", "Asked by the patient"
        RETENTION = "retention", "Retention period over"
        MISTAKE = "mistake", "Record made by mistake"

    class Outcome(models.TextChoices):
        PENDING = "pending", "Waiting for a manager to confirm the purge"
        ERASED = "erased", "Erased (no clinical data)"
        CONTACT_ERASED = "contact_erased", "Contact data erased; clinical record kept until the retention date"
        PURGED = "purged", "Purged after the retention period"

    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="erasure_requests"
    )
    patient_number = models.PositiveIntegerField()
    source = models.CharField(max_length=10, choices=Source.choices)
    # None: the retention job found it.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True, help_text="How and when the patient asked.")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    retain_until = models.DateField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient_number"], condition=Q(outcome="pending"), name="erasure_one_pending_per_patient"
            ),
        ]
        verbose_name = "erasure request"

    def __str__(self) -> str:
        return f"Erasure of patient #{self.patient_number}: {self.get_outcome_display()}"


class PatientImport(models.Model):
    """A CSV file of patients from another system, on its way in (patients/importing.py):
    uploaded, its columns mapped to fields, previewed (a dry run), then imported all at once.
    The file's text is kept only until it is imported."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        IMPORTED = "imported", "Imported"

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField(max_length=255)
    content = models.TextField(blank=True)
    delimiter = models.CharField(max_length=1, default=",")
    headers = models.JSONField(default=list)
    row_count = models.PositiveIntegerField(default=0)
    # {field name: column index}
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    imported_count = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = "patient import"

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"
