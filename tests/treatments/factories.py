"""Factories of the treatments app; people and patients come from tests/factories.py."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from tests.factories import ConsentRecordFactory, DoctorFactory, PatientFactory
from treatments.models import (
    Batch,
    Consultation,
    FacialArea,
    Ingredient,
    PlanProduct,
    Product,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)


class IngredientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ingredient
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Test ingredient {n}")
    category = Ingredient.Category.VITAMIN
    purposes = factory.LazyFunction(lambda: [Ingredient.Purpose.RADIANCE])


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Test cocktail {n}")
    manufacturer = "Test Labs"
    presentation = "5 vials of 5 ml"

    @factory.post_generation
    def ingredients(self, create, extracted, **kwargs):
        if create and extracted:
            self.ingredients.set(extracted)


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Batch

    product = factory.SubFactory(ProductFactory)
    lot_number = factory.Sequence(lambda n: f"LOT{n:05d}")
    expiry_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=365))
    quantity_in_stock = Decimal("25.00")


class ConsultationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consultation

    patient = factory.SubFactory(PatientFactory)
    doctor = factory.SubFactory(DoctorFactory)
    concerns = factory.LazyFunction(lambda: [Consultation.Concern.DEHYDRATION, Consultation.Concern.FINE_LINES])
    goals = "Fresher, more hydrated skin"
    examination = "Fine lines around the eyes, dehydrated cheeks"
    history_reviewed = True
    routine_reviewed = True
    assessment = "Good candidate for a hydrating course"
    suitability = Consultation.Suitability.SUITABLE


class SignedConsultationFactory(ConsultationFactory):
    class Meta:
        skip_postgeneration_save = True

    status = Consultation.Status.SIGNED
    signed_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def consent(self, create, extracted, **kwargs):
        # A patient who goes on to a course has consented (course start and signing are gated on
        # it): tests of the gate itself pass consent=False.
        if create and extracted is not False and not self.patient.consents.exists():
            ConsentRecordFactory(patient=self.patient, witnessed_by=self.doctor)


class TreatmentPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentPlan
        skip_postgeneration_save = True

    consultation = factory.SubFactory(SignedConsultationFactory)
    patient = factory.SelfAttribute("consultation.patient")
    doctor = factory.SelfAttribute("consultation.doctor")
    session_count = 5
    maintenance_interval_months = 6
    technique = Technique.NEEDLE_SYRINGE
    areas = factory.LazyFunction(lambda: [FacialArea.CHEEK_LEFT, FacialArea.CHEEK_RIGHT, FacialArea.FOREHEAD])
    starts_on = factory.LazyFunction(timezone.localdate)

    @factory.post_generation
    def products(self, create, extracted, **kwargs):
        if create:
            for product in extracted or [ProductFactory()]:
                PlanProduct.objects.create(plan=self, product=product, amount_per_session=Decimal("2.00"))


class ActivePlanFactory(TreatmentPlanFactory):
    status = TreatmentPlan.Status.ACTIVE
    activated_at = factory.LazyFunction(timezone.now)


class CompletedPlanFactory(TreatmentPlanFactory):
    """A course given in full: maintenance falls due ``maintenance_interval_months`` later."""

    status = TreatmentPlan.Status.COMPLETED
    activated_at = factory.LazyFunction(timezone.now)
    completed_at = factory.LazyFunction(timezone.now)
    maintenance_due_on = factory.LazyFunction(timezone.localdate)


class TreatmentSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentSession

    plan = factory.SubFactory(ActivePlanFactory)
    patient = factory.SelfAttribute("plan.patient")
    doctor = factory.SelfAttribute("plan.doctor")
    number = factory.Sequence(lambda n: n % 6 + 1)
    technique = Technique.NEEDLE_SYRINGE
    areas = factory.LazyFunction(lambda: [FacialArea.CHEEK_LEFT, FacialArea.CHEEK_RIGHT])
    performed_at = factory.LazyFunction(timezone.now)
    pain_score = 3


class SignedSessionFactory(TreatmentSessionFactory):
    status = TreatmentSession.Status.SIGNED
    signed_at = factory.LazyFunction(timezone.now)
