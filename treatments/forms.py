"""Forms of the treatments pages. They parse and give friendly messages; the services hold
the rules (and repeat the important ones, so that no other caller can skip them)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.layout import Layout
from django import forms
from django.utils import timezone
from django.utils.text import Truncator

from clinic import dates
from clinic.forms import CrispyForm, CrispyModelForm, PlainForm
from clinic.text import REASON_MAX
from treatments import selectors
from treatments.models import (
    MAX_MAINTENANCE_MONTHS,
    MAX_PAIN,
    MAX_RATING,
    MAX_SESSIONS,
    MIN_MAINTENANCE_MONTHS,
    MIN_PAIN,
    MIN_RATING,
    MIN_SESSIONS,
    Batch,
    Consultation,
    FacialArea,
    MaintenanceRecall,
    NumbingCream,
    OutcomeRating,
    Photo,
    Product,
    SessionFollowUp,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.safety import SafetyCheck, product_contraindication
from treatments.services import CONSULTATION_FIELDS, PLAN_FIELDS, SESSION_FIELDS, CocktailItem, UsageItem

COCKTAIL_ROWS = 4
# Rows for a batch outside the plan's cocktail rows (a product split over two batches).
EXTRA_BATCH_ROWS = 1
MAX_AMOUNT_ML = Decimal("50")


class ConsultationForm(CrispyModelForm):
    concerns = forms.MultipleChoiceField(
        choices=Consultation.Concern.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Consultation
        fields = list(CONSULTATION_FIELDS)
        field_classes = {
            "consulted_on": dates.date_field(
                dataclasses.replace(dates.RECORD, too_late="A consultation cannot be dated in the future.")
            )
        }
        widgets = {
            "goals": forms.Textarea(attrs={"rows": 2}),
            "examination": forms.Textarea(attrs={"rows": 3}),
            "history_changes": forms.Textarea(attrs={"rows": 2}),
            "routine_changes": forms.Textarea(attrs={"rows": 2}),
            "assessment": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "history_reviewed": "Tick once you have gone through the medical history with the patient.",
            "history_changes": "What the patient told you is new or different; 'No change' if nothing.",
            "routine_reviewed": "Tick once you have gone through the skin routine with the patient.",
        }

    def clean_consulted_on(self):
        day = self.cleaned_data["consulted_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("A consultation cannot be dated in the future.")
        return day

    def clean(self):
        cleaned = super().clean()
        if "other" in (cleaned.get("concerns") or []) and not (cleaned.get("concerns_other") or "").strip():
            self.add_error("concerns_other", "Describe the other concern.")
        return cleaned

    def consultation_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class AddendumForm(CrispyForm):
    text = forms.CharField(
        label="Addendum", widget=forms.Textarea(attrs={"rows": 3}), help_text="A dated correction or addition."
    )


class AreasField(forms.MultipleChoiceField):
    """The facial areas ticked: each one of FacialArea, each once. An unknown value (a stale
    or forged form) is named, shortened, in the error; the form is shown again."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Facial areas")
        kwargs.setdefault("error_messages", {"required": "Choose at least one facial area."})
        super().__init__(choices=FacialArea.choices, **kwargs)

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        unknown = next((area for area in value if not self.valid_value(area)), None)
        if unknown is not None:
            raise forms.ValidationError(
                "“%(value)s” is not one of the facial areas: tick the areas from the list.",
                code="invalid_choice",
                params={"value": Truncator(unknown).chars(30)},
            )

    def clean(self, value):
        return list(dict.fromkeys(super().clean(value)))


class OverrideMixin:
    """Adds one reason box per blocking finding of a safety check."""

    def add_override_fields(self, check: SafetyCheck | None) -> None:
        self.override_codes: dict[str, str] = {}
        if check is None:
            return
        for index, finding in enumerate(check.blocking):
            name = f"override_{index}"
            self.fields[name] = forms.CharField(
                label=f"Reason to go ahead despite: {finding.title}",
                help_text=finding.reason,
                required=False,
                max_length=REASON_MAX,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.override_codes[name] = finding.code

    def overrides(self) -> dict[str, str]:
        return {code: self.cleaned_data.get(name, "") for name, code in self.override_codes.items()}


class ProductChoiceField(forms.ModelChoiceField):
    """The cocktail's product picker: a product the patient is allergic to says so in its label."""

    def __init__(self, *args, allergies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.allergies = list(allergies)

    def label_from_instance(self, obj) -> str:
        problem = product_contraindication(obj, self.allergies) if self.allergies else ""
        return f"{obj} — {problem.upper()}" if problem else str(obj)


class PlanForm(CrispyModelForm):
    session_count = forms.IntegerField(
        label="Number of sessions",
        min_value=MIN_SESSIONS,
        max_value=MAX_SESSIONS,
        initial=5,
        help_text=f"From {MIN_SESSIONS} to {MAX_SESSIONS} sessions, one week apart.",
        error_messages={
            "min_value": f"A course has from {MIN_SESSIONS} to {MAX_SESSIONS} sessions.",
            "max_value": f"A course has from {MIN_SESSIONS} to {MAX_SESSIONS} sessions.",
        },
    )
    maintenance_interval_months = forms.IntegerField(
        label="Maintenance interval (months)",
        min_value=MIN_MAINTENANCE_MONTHS,
        max_value=MAX_MAINTENANCE_MONTHS,
        initial=6,
        help_text=f"From {MIN_MAINTENANCE_MONTHS} to {MAX_MAINTENANCE_MONTHS} months after the last session.",
        error_messages={
            "min_value": f"Maintenance is every {MIN_MAINTENANCE_MONTHS} to {MAX_MAINTENANCE_MONTHS} months.",
            "max_value": f"Maintenance is every {MIN_MAINTENANCE_MONTHS} to {MAX_MAINTENANCE_MONTHS} months.",
        },
    )
    areas = AreasField()

    class Meta:
        model = TreatmentPlan
        fields = list(PLAN_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}
        field_classes = {"starts_on": dates.date_field(dates.PLAN_START)}

    def __init__(self, *args, history_items=(), **kwargs):
        super().__init__(*args, **kwargs)
        products = Product.objects.active().prefetch_related("ingredients").order_by("name")
        self.cocktail_rows = []
        for index in range(1, COCKTAIL_ROWS + 1):
            product_name, amount_name = f"product_{index}", f"amount_{index}"
            self.fields[product_name] = ProductChoiceField(
                queryset=products, required=False, label=f"Product {index}", allergies=history_items
            )
            self.fields[amount_name] = forms.DecimalField(
                required=False,
                min_value=Decimal("0.01"),
                max_value=MAX_AMOUNT_ML,
                decimal_places=2,
                label=f"Amount per session of product {index} (ml)",
                error_messages={"min_value": "The amount must be more than 0 ml."},
            )
            self.cocktail_rows.append((product_name, amount_name))
        self.plan_field_names = list(self._meta.fields)

    def clean(self):
        cleaned = super().clean()
        chosen = []
        for product_name, amount_name in self.cocktail_rows:
            product, amount = cleaned.get(product_name), cleaned.get(amount_name)
            if product and amount is None and amount_name not in self.errors:
                self.add_error(amount_name, f"Give the amount of {product.name} per session.")
            elif amount is not None and not product:
                self.add_error(product_name, "Choose the product for this amount.")
            elif product and amount is not None:
                if product.pk in {item.product.pk for item in chosen}:
                    self.add_error(product_name, f"{product.name} is already in the cocktail.")
                chosen.append(CocktailItem(product=product, amount_per_session=amount))
        if not chosen and not self.errors:
            self.add_error("product_1", "Choose at least one product for the cocktail.")
        self.cocktail = chosen
        return cleaned

    def plan_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.plan_field_names}


class PlanSafetyPreviewForm(CrispyForm):
    """What the safety preview reads of the plan form being filled in (query parameters): its
    products and numbing cream. A value that is not a product (a stale page, garbage, a number
    too long) is left out of the check; a cream that cannot be read counts as a cream."""

    numbing_cream = forms.ChoiceField(choices=NumbingCream.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.product_names = [f"product_{index}" for index in range(1, COCKTAIL_ROWS + 1)]
        for name in self.product_names:
            self.fields[name] = forms.ModelChoiceField(queryset=Product.objects.all(), required=False)

    def products(self) -> list[Product]:
        self.is_valid()
        chosen = [self.cleaned_data.get(name) for name in self.product_names]
        return list({product.pk: product for product in chosen if product is not None}.values())

    def cream(self) -> str:
        self.is_valid()
        # Erring on the side of caution: an unreadable choice is checked as a cream.
        return self.cleaned_data.get("numbing_cream") or NumbingCream.EMLA


class PlanActivateForm(OverrideMixin, CrispyForm):
    def __init__(self, *args, check: SafetyCheck | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_override_fields(check)


class SessionSignForm(OverrideMixin, CrispyForm):
    """Signing a session: one reason box per contraindication the check at signing finds. The
    first post shows what will be locked; ``confirmed`` (sent by that page) signs."""

    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, check: SafetyCheck | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_override_fields(check)

    def override_fields(self) -> list:
        return [self[name] for name in self.override_codes]


class PlanCancelForm(CrispyForm):
    reason = forms.CharField(
        label="Reason for cancelling",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give the reason for cancelling the plan."},
    )


class BatchRow(NamedTuple):
    batch_name: str
    amount_name: str
    product: Product | None  # the cocktail product of the row; None for another batch


class SessionForm(OverrideMixin, CrispyModelForm):
    areas = AreasField(help_text="Tick the areas, or click them on the face diagram.")
    reactions = forms.MultipleChoiceField(
        label="Immediate reactions",
        choices=TreatmentSession.Reaction.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    pain_score = forms.IntegerField(
        label=f"Pain score ({MIN_PAIN}-{MAX_PAIN})",
        min_value=MIN_PAIN,
        max_value=MAX_PAIN,
        required=False,
        error_messages={
            "min_value": f"The pain score is from {MIN_PAIN} (none) to {MAX_PAIN} (worst imaginable).",
            "max_value": f"The pain score is from {MIN_PAIN} (none) to {MAX_PAIN} (worst imaginable).",
        },
    )

    class Meta:
        model = TreatmentSession
        fields = list(SESSION_FIELDS)
        field_classes = {
            "performed_at": dates.datetime_field(dates.RECORD),
            "numbing_applied_at": dates.datetime_field(dates.RECORD),
        }
        widgets = {
            "injection_sites": forms.Textarea(attrs={"rows": 2}),
            "aftercare_given": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, plan: TreatmentPlan, on: date, check: SafetyCheck | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.session_field_names = list(self._meta.fields)
        recorded = list(self.instance.batch_usages.select_related("batch__product")) if self.instance.pk else []
        self.batch_rows: list[BatchRow] = []
        # One row per product of the plan's cocktail: only that product's usable batches with
        # enough stock for the planned amount, the first to expire chosen; the planned amount.
        for index, row in enumerate(selectors.session_cocktail(plan, on=on), start=1):
            product = row.plan_product.product
            mine = next((usage for usage in recorded if usage.batch.product_id == product.pk), None)
            choices = [batch.pk for batch in row.batches]
            if mine is not None:
                # A draft keeps showing the batch it recorded, even if it has run out since.
                recorded.remove(mine)
                choices.append(mine.batch_id)
            self._add_batch_row(
                index,
                queryset=Batch.objects.select_related("product").filter(pk__in=choices).first_expiring_first(),
                product=product,
                batch_label=f"Batch of {product.name}",
                amount_label=f"Amount of {product.name} (ml)",
                help_text=(
                    f"Planned: {row.plan_product.amount_per_session} ml. First to expire first."
                    if row.batches
                    else f"No usable batch of {product.name} has {row.plan_product.amount_per_session} ml in stock."
                ),
                batch=mine.batch if mine else row.first_expiring,
                amount=mine.amount if mine else row.plan_product.amount_per_session,
            )
        # Then rows for another batch (a product split over two batches, or one outside the plan).
        usable = selectors.batches_for_choice().order_by("product__name", "expiry_date", "lot_number")
        for extra, usage in enumerate([*recorded, *[None] * EXTRA_BATCH_ROWS], start=1):
            index = len(self.batch_rows) + 1
            queryset = usable
            if usage is not None:
                queryset = (usable | Batch.objects.filter(pk=usage.batch_id)).distinct()
            self._add_batch_row(
                index,
                queryset=queryset,
                product=None,
                batch_label=f"Other batch {extra} (optional)",
                amount_label=f"Amount used from other batch {extra} (ml)",
                help_text="Another batch, e.g. when a product comes from two batches.",
                batch=usage.batch if usage else None,
                amount=usage.amount if usage else None,
            )
        self.add_override_fields(check)

    def _add_batch_row(self, index, *, queryset, product, batch_label, amount_label, help_text, batch, amount):
        batch_name, amount_name = f"batch_{index}", f"batch_amount_{index}"
        self.fields[batch_name] = BatchChoiceField(
            queryset=queryset, required=False, label=batch_label, help_text=help_text
        )
        self.fields[amount_name] = forms.DecimalField(
            required=False,
            min_value=Decimal("0.01"),
            max_value=MAX_AMOUNT_ML,
            decimal_places=2,
            label=amount_label,
            error_messages={"min_value": "The amount must be more than 0 ml."},
        )
        if batch is not None:
            self.initial.setdefault(batch_name, batch.pk)
        if amount is not None:
            self.initial.setdefault(amount_name, amount)
        self.batch_rows.append(BatchRow(batch_name, amount_name, product))

    def clean(self):
        cleaned = super().clean()
        usages = []
        for batch_name, amount_name, _product in self.batch_rows:
            batch, amount = cleaned.get(batch_name), cleaned.get(amount_name)
            if batch and amount is None and amount_name not in self.errors:
                self.add_error(amount_name, f"Give the amount used from lot {batch.lot_number}.")
            elif amount is not None and not batch:
                self.add_error(batch_name, "Choose the batch for this amount.")
            elif batch and amount is not None:
                usages.append(UsageItem(batch=batch, amount=amount))
        self.usages = usages
        return cleaned

    def session_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.session_field_names}


class BatchChoiceField(forms.ModelChoiceField):
    default_error_messages = {
        "invalid_choice": "This batch can no longer be used (expired, recalled or out of stock): choose another."
    }

    def label_from_instance(self, obj) -> str:
        expiry = f"{obj.expiry_date:%d/%m/%Y}"
        state = " — RECALLED" if obj.is_recalled else ""
        return f"{obj.product.name} — lot {obj.lot_number}, exp. {expiry}, {obj.quantity_in_stock} ml left{state}"


RATING_LABELS = {1: "1 poor", 2: "2 fair", 3: "3 good", 4: "4 very good", 5: "5 excellent"}


class RatingForm(CrispyModelForm):
    """The doctor's or the patient's rating: for each measure, five labelled choices (radio
    buttons), never a number typed into a box."""

    class Meta:
        model = OutcomeRating
        fields = ["rater", "hydration", "radiance", "fine_lines", "satisfaction"]
        widgets = {"rater": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        message = f"Choose a rating from {MIN_RATING} (poor) to {MAX_RATING} (excellent)."
        self.fields["rater"].label = "Whose rating"
        self.fields["rater"].choices = OutcomeRating.Rater.choices  # no empty choice among the radios
        for name in OutcomeRating.SCORES:
            model_field = self.fields[name]
            self.fields[name] = forms.TypedChoiceField(
                label=model_field.label,
                choices=[(value, RATING_LABELS[value]) for value in range(MIN_RATING, MAX_RATING + 1)],
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": message, "invalid_choice": message},
            )
        self.helper.layout = Layout(InlineRadios("rater"), *(InlineRadios(name) for name in OutcomeRating.SCORES))

    def scores(self) -> dict:
        return {name: self.cleaned_data[name] for name in OutcomeRating.SCORES}


class PhotoUploadForm(CrispyForm):
    kind = forms.ChoiceField(choices=Photo.Kind.choices, label="Before or after")
    view = forms.CharField(max_length=60, required=False, label="View", help_text="e.g. front, left profile.")
    image = forms.FileField(label="Photo (JPEG or PNG)")


# Maintenance recall and the next-day follow-up ------------------------------------------

RECALL_WINDOW_MAX_DAYS = 366


class RecallFilterForm(CrispyForm):
    date_from = dates.DateField(label="Due from", within=dates.PERIOD)
    date_to = dates.DateField(label="Due to", within=dates.PERIOD)
    status = forms.ChoiceField(
        label="Status", choices=[("", "Any status"), *MaintenanceRecall.Status.choices], required=False
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", "The end date must be on or after the start date.")
            elif (end - start).days > RECALL_WINDOW_MAX_DAYS:
                self.add_error("date_to", f"Choose a window of at most {RECALL_WINDOW_MAX_DAYS} days.")
        return cleaned


class RecallUpdateForm(CrispyForm):
    status = forms.ChoiceField(label="Status", choices=MaintenanceRecall.Status.choices)
    notes = forms.CharField(
        label="Notes", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Administrative notes only: calls made, answers given.",
    )  # fmt: skip


def refuse_control_characters(text: str) -> str:
    """Free text from the public: line breaks and tabs are fine, other control characters are not."""
    if any((ord(char) < 32 and char not in "\n\r\t") or ord(char) == 127 for char in text):
        raise forms.ValidationError("Remove the special (control) characters from the text.")
    return text


class FollowUpAnswerForm(PlainForm):
    answer = forms.ChoiceField(
        label="How is your skin?",
        choices=SessionFollowUp.Answer.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose one of the answers."},
    )
    concern = forms.CharField(
        label="What worries you?",
        required=False,
        max_length=SessionFollowUp.MAX_CONCERN_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"Up to {SessionFollowUp.MAX_CONCERN_LENGTH} characters. Your doctor will read it.",
    )

    def clean_concern(self) -> str:
        return refuse_control_characters(self.cleaned_data["concern"]).strip()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("answer") == SessionFollowUp.Answer.CONCERN and not cleaned.get("concern"):
            self.add_error("concern", "Tell us what worries you.")
        return cleaned


class PhotoChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        view = f" ({obj.view})" if obj.view else ""
        return f"Session {obj.session.number}, {obj.get_kind_display().lower()}{view}"


class PhotoCompareForm(CrispyForm):
    """Which photos to compare: a before photo on the left, an after photo on the right. The
    choices are the course's own photos; anything else is refused as an invalid choice."""

    before = PhotoChoiceField(queryset=Photo.objects.none(), label="Before (left)", required=False)
    after = PhotoChoiceField(queryset=Photo.objects.none(), label="After (right)", required=False)

    def __init__(self, *args, before=(), after=(), **kwargs):
        super().__init__(*args, **kwargs)
        for name, photos in (("before", before), ("after", after)):
            field = self.fields[name]
            field.queryset = Photo.objects.filter(pk__in=[photo.pk for photo in photos]).select_related("session")
            field.empty_label = None


class LotSearchForm(CrispyForm):
    q = forms.CharField(
        label="Lot number", max_length=60, help_text="The lot number as printed on the vial, in any case."
    )


class BatchRecallForm(CrispyForm):
    reason = forms.CharField(
        label="Reason for the recall",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The manufacturer's or the regulator's notice, and what is wrong with the lot.",
        error_messages={"required": "Give the reason for the recall."},
    )
    recalled_on = dates.DateField(
        label="Recalled on",
        within=dataclasses.replace(
            dates.RECORD, too_late="The recall date is today or a day before, never in the future."
        ),
        help_text="The date of the recall notice; today unless it came in earlier.",
        error_messages={"required": "Give the date of the recall.", "invalid": "Give the date as a calendar date."},
    )

    def clean_recalled_on(self):
        day = self.cleaned_data["recalled_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("The recall date is today or a day before, never in the future.")
        return day


class RecallNoticeForm(CrispyForm):
    confirm = forms.BooleanField(
        label="Yes, send the recall notice email to each patient listed",
        error_messages={"required": "Tick the box to confirm that the notice should be sent."},
    )
