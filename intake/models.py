"""The intake questionnaire a patient fills in before a consultation, from a signed link in
an email, and the answers a doctor reviews one by one. Nothing here is the medical history:
an answer reaches the history only when a doctor accepts it (patients.services, recorded as
reported by the patient and reviewed by that doctor)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patients.models import HistoryItem, Patient, SkinProfile


class IntakeQuestionnaire(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="intake_questionnaires")
    # The booking that asked for it, e.g. "appointment:42": one questionnaire per consultation.
    # Its email is about the same subject, so cancelling the booking cancels an unsent email.
    requested_for = models.CharField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # What the patient has typed so far (the form's fields), saved as a draft until submitted.
    draft = models.JSONField(default=dict, blank=True)
    draft_saved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "intake questionnaire"

    def __str__(self) -> str:
        return f"Intake questionnaire of {self.patient} ({self.requested_for})"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None


class IntakeAnswer(models.Model):
    """One thing the patient reported, for the doctor to accept into the record or decline:
    a history entry (condition, allergy, medication, previous treatment) or a part of the skin
    profile (pregnancy, skin routine, lifestyle)."""

    class Section(models.TextChoices):
        CONDITION = "condition", "Condition"
        ALLERGY = "allergy", "Allergy"
        MEDICATION = "medication", "Medication"
        PREVIOUS_TREATMENT = "previous_treatment", "Previous aesthetic treatment"
        PREGNANCY = "pregnancy", "Pregnancy or breastfeeding"
        ROUTINE = "routine", "Skin routine"
        LIFESTYLE = "lifestyle", "Lifestyle"

    class Decision(models.TextChoices):
        PENDING = "pending", "To review"
        ACCEPTED = "accepted", "Accepted into the record"
        DECLINED = "declined", "Not taken into the record"

    HISTORY_SECTIONS = frozenset(HistoryItem.Category.values)
    SKIN_FIELDS_BY_SECTION: dict[str, tuple[str, ...]] = {
        Section.PREGNANCY: ("pregnancy",),
        Section.ROUTINE: ("cleanser", "actives", "sunscreen_use", "routine_notes"),
        Section.LIFESTYLE: ("sun_exposure", "smoking", "stress", "lifestyle_notes"),
    }

    questionnaire = models.ForeignKey(IntakeQuestionnaire, on_delete=models.CASCADE, related_name="answers")
    section = models.CharField(max_length=20, choices=Section.choices)
    position = models.PositiveSmallIntegerField(default=0)
    # A history entry: the code the safety rules read, a name and the patient's own words.
    code = models.CharField(max_length=20, choices=HistoryItem.Code.choices, blank=True)
    name = models.CharField(max_length=200, blank=True)
    details = models.TextField(blank=True)
    # A part of the skin profile: the SkinProfile fields of the section and their values.
    skin_values = models.JSONField(default=dict, blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    history_item = models.ForeignKey(HistoryItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    skin_profile = models.ForeignKey(SkinProfile, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["questionnaire", "position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision="pending") | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="intakeanswer_decided_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_section_display()}: {self.summary}"

    @property
    def is_history(self) -> bool:
        return self.section in self.HISTORY_SECTIONS

    @property
    def is_pending(self) -> bool:
        return self.decision == self.Decision.PENDING

    @property
    def summary(self) -> str:
        if self.is_history:
            return self.name
        return "; ".join(f"{label}: {value}" for label, value in self.skin_display())

    def skin_display(self) -> list[tuple[str, str]]:
        """The skin profile answers as (question, answer) pairs for the review page."""
        shown = []
        for name in self.SKIN_FIELDS_BY_SECTION[self.section]:
            if name not in self.skin_values:
                continue
            value = self.skin_values[name]
            field = SkinProfile._meta.get_field(name)
            choices = dict(field.base_field.choices if hasattr(field, "base_field") else field.choices or [])
            if isinstance(value, list):
                text = ", ".join(str(choices.get(item, item)) for item in value) or "None"
            else:
                text = str(choices.get(value, value)) if value else "—"
            shown.append((str(field.verbose_name).capitalize(), text))
        return shown
