"""Demo data for treatments: batches in stock for the seeded formulary, and consultations,
plans and sessions for a dozen demo patients (completed, active and proposed courses, and
draft consultations). The formulary itself is seeded by migration 0003.

Records are written directly (not through the services) so that demo sessions in the past
do not put aftercare emails in the outbox; only future maintenance recalls are scheduled.
Idempotent: batches are matched by lot number, and patients who already have a consultation
are left alone.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clinic.localtime import clock_reaches
from messaging import keys
from messaging.models import ScheduledMessage
from messaging.services import message_schedule
from patients.models import Patient
from treatments.models import (
    SESSION_INTERVAL,
    Batch,
    BatchUsage,
    Consultation,
    FacialArea,
    NumbingCream,
    OutcomeRating,
    PlanProduct,
    Product,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.safety import evaluate
from treatments.services import RECALL_AT

DEMO_LOT_PREFIX = "DEMO"
SCENARIOS = ["completed"] * 4 + ["active"] * 4 + ["proposed"] * 2 + ["draft"] * 2
COCKTAILS = [
    [("NCTF 135 HA", "3.00")],
    [("Jalupro Classic", "3.00")],
    [("Hyaluronic acid 1.5%", "2.00"), ("Vitamin C 20%", "1.00")],
    [("Dermaheal SB", "2.50")],
    [("Tranexamic acid 5%", "1.00"), ("Hyaluronic acid 1.5%", "2.00")],
]
AREA_SETS = [
    [FacialArea.FOREHEAD, FacialArea.CHEEK_LEFT, FacialArea.CHEEK_RIGHT],
    [FacialArea.PERIORBITAL_LEFT, FacialArea.PERIORBITAL_RIGHT, FacialArea.CHEEK_LEFT, FacialArea.CHEEK_RIGHT],
    [FacialArea.CHEEK_LEFT, FacialArea.CHEEK_RIGHT, FacialArea.NECK, FacialArea.DECOLLETAGE],
    [FacialArea.FOREHEAD, FacialArea.PERIORAL, FacialArea.CHIN, FacialArea.JAWLINE],
]


def _seed_batches(rng: random.Random) -> dict[int, list[Batch]]:
    today = timezone.localdate()
    usable: dict[int, list[Batch]] = {}
    for index, product in enumerate(Product.objects.order_by("name")):
        for lot in range(2):
            batch, _ = Batch.objects.get_or_create(
                product=product,
                lot_number=f"{DEMO_LOT_PREFIX}-{index:02d}{lot}-{product.manufacturer[:3].upper()}",
                defaults={
                    "expiry_date": today + timedelta(days=rng.randint(120, 540)),
                    "quantity_in_stock": Decimal(rng.choice(["30.00", "45.00", "60.00"])),
                    "received_on": today - timedelta(days=rng.randint(20, 200)),
                },
            )
            usable.setdefault(product.pk, []).append(batch)
    # One expired and one recalled lot, to show that they cannot be chosen.
    first = Product.objects.order_by("name").first()
    if first is not None:
        Batch.objects.get_or_create(
            product=first,
            lot_number=f"{DEMO_LOT_PREFIX}-EXPIRED",
            defaults={"expiry_date": today - timedelta(days=30), "quantity_in_stock": Decimal("10.00")},
        )
        Batch.objects.get_or_create(
            product=first,
            lot_number=f"{DEMO_LOT_PREFIX}-RECALLED",
            defaults={
                "expiry_date": today + timedelta(days=200),
                "quantity_in_stock": Decimal("15.00"),
                "recalled_at": timezone.now() - timedelta(days=5),
                "recall_reason": "Manufacturer recall: sterility not guaranteed for this lot.",
            },
        )
    return usable


def _candidates(count: int) -> list[Patient]:
    """Demo patients with no consultation yet and nothing in their history that blocks treatment."""
    chosen = []
    patients = (
        Patient.objects.active()
        .filter(consultations__isnull=True)
        .prefetch_related("history_items", "skin_profiles")
        .order_by("id")[:80]
    )
    today = timezone.localdate()
    for patient in patients:
        items = [item for item in patient.history_items.all() if item.superseded_at is None]
        profiles = [profile for profile in patient.skin_profiles.all() if profile.superseded_at is None]
        findings = evaluate(
            items=items,
            profile=profiles[0] if profiles else None,
            ingredients=[],
            numbing_cream=NumbingCream.EMLA,
            consultation=None,
            on=today,
        )
        if not any(finding.blocks for finding in findings):
            chosen.append(patient)
        if len(chosen) == count:
            break
    return chosen


def _at(day, hour: int, minute: int = 0) -> datetime:
    return clock_reaches(day, time(hour, minute))


def _seed_patient(patient: Patient, scenario: str, doctor, rng: random.Random, batches, products) -> None:
    today = timezone.localdate()
    offsets = {"completed": 230, "active": 20, "proposed": 6, "draft": 1}
    consulted_on = today - timedelta(days=offsets[scenario] + rng.randint(0, 10))
    while consulted_on.weekday() >= 5:  # the clinic sees patients Monday to Friday
        consulted_on -= timedelta(days=1)
    signed = scenario != "draft"
    consultation = Consultation.objects.create(
        patient=patient,
        doctor=doctor,
        consulted_on=consulted_on,
        concerns=rng.sample(["fine_lines", "dull_skin", "dehydration", "pigmentation", "laxity"], 2),
        goals=rng.choice(["A fresher, brighter complexion", "Softer fine lines before a wedding", "Less dull skin"]),
        examination=rng.choice(
            ["Dehydrated skin on both cheeks, fine periorbital lines", "Dull complexion, mild laxity along the jaw"]
        ),
        history_reviewed=signed,
        history_changes="No change" if signed else "",
        routine_reviewed=signed,
        routine_changes="Uses SPF daily" if signed else "",
        assessment="Good candidate for a mesotherapy course" if signed else "",
        suitability=Consultation.Suitability.SUITABLE if signed else "",
        status=Consultation.Status.SIGNED if signed else Consultation.Status.DRAFT,
        signed_at=_at(consulted_on, 12, 45) if signed else None,
    )
    if scenario == "draft":
        return
    session_count = rng.choice([4, 5, 6])
    starts_on = consulted_on + timedelta(days=7)
    plan = TreatmentPlan.objects.create(
        patient=patient,
        doctor=doctor,
        consultation=consultation,
        session_count=session_count,
        maintenance_interval_months=rng.choice([6, 9, 12]),
        technique=rng.choice([Technique.NEEDLE_SYRINGE, Technique.NEEDLE_SYRINGE, Technique.MESO_PEN]),
        numbing_cream=NumbingCream.EMLA,
        areas=rng.choice(AREA_SETS),
        starts_on=starts_on,
        status=TreatmentPlan.Status.PROPOSED,
        created_at=_at(consulted_on, 13, 0),
    )
    cocktail = [(products[name], Decimal(amount)) for name, amount in rng.choice(COCKTAILS) if name in products]
    PlanProduct.objects.bulk_create(
        [PlanProduct(plan=plan, product=product, amount_per_session=amount) for product, amount in cocktail]
    )
    if scenario == "proposed":
        return
    done = session_count if scenario == "completed" else min(2, session_count)
    last_day = starts_on
    for number in range(1, done + 1):
        day = starts_on + SESSION_INTERVAL * (number - 1)
        performed_at = _at(day, 12, 30)
        session = TreatmentSession.objects.create(
            plan=plan,
            patient=patient,
            doctor=doctor,
            number=number,
            status=TreatmentSession.Status.SIGNED,
            performed_at=performed_at,
            numbing_applied_at=performed_at - timedelta(minutes=30),
            technique=plan.technique,
            areas=plan.areas,
            injection_sites="Nappage, 2-4 mm apart, 1 mm deep",
            duration_minutes=rng.choice([25, 30, 35]),
            pain_score=rng.randint(1, 5),
            reactions=rng.sample(["redness", "bruising", "swelling"], rng.randint(0, 2)),
            aftercare_given="Aftercare sheet given; no make-up for 24 hours.",
            signed_at=performed_at + timedelta(minutes=40),
        )
        for product, amount in cocktail:
            batch = batches[product.pk][0]
            BatchUsage.objects.create(session=session, batch=batch, amount=amount)
            Batch.objects.filter(pk=batch.pk, quantity_in_stock__gte=amount).update(
                quantity_in_stock=F("quantity_in_stock") - amount
            )
        base = min(2 + number // 2, 5)
        for rater in (OutcomeRating.Rater.DOCTOR, OutcomeRating.Rater.PATIENT):
            OutcomeRating.objects.create(
                session=session,
                rater=rater,
                hydration=min(base + rng.randint(0, 1), 5),
                radiance=min(base + rng.randint(0, 1), 5),
                fine_lines=max(min(base - 1 + rng.randint(0, 1), 5), 1),
                satisfaction=min(base + rng.randint(0, 1), 5),
                recorded_by=doctor,
            )
        last_day = day
    plan.status = TreatmentPlan.Status.ACTIVE
    plan.activated_at = _at(starts_on, 12, 0)
    if scenario == "completed":
        plan.status = TreatmentPlan.Status.COMPLETED
        plan.completed_at = _at(last_day, 13, 10)
        plan.maintenance_due_on = plan.maintenance_due_after(last_day)
        due_at = clock_reaches(plan.maintenance_due_on, RECALL_AT)
        if due_at > timezone.now():
            message_schedule(
                kind=ScheduledMessage.Kind.MAINTENANCE_RECALL,
                patient=patient,
                due_at=due_at,
                dedupe_key=keys.message_key(plan.subject_ref, ScheduledMessage.Kind.MAINTENANCE_RECALL),
                subject_ref=plan.subject_ref,
            )
    plan.save()


@transaction.atomic
def seed_demo_data(*, stdout) -> None:
    rng = random.Random(20261126)  # noqa: S311 - demo data, not security
    User = get_user_model()
    doctors = list(User.objects.filter(username__in=["doctor", "doctor2"]).order_by("username"))
    if not doctors:
        stdout.write("Treatments: no demo doctor, skipped.")
        return
    batches = _seed_batches(rng)
    products = {product.name: product for product in Product.objects.all()}
    if Consultation.objects.filter(doctor__in=doctors).exists():
        stdout.write("Treatments: demo records already present.")
        return
    patients = _candidates(len(SCENARIOS))
    for index, (patient, scenario) in enumerate(zip(patients, SCENARIOS, strict=False)):
        _seed_patient(patient, scenario, doctors[index % len(doctors)], rng, batches, products)
    stdout.write(f"Treatments: {len(patients)} patients with consultations, plans and sessions.")
