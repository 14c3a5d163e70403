"""Consultations, treatment courses and their signed sessions, with skin profiles and consents."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from clinic.localtime import clock_reaches
from devdata.large.reference import FORMULARY
from devdata.large.sizes import TYPE_CONSULTATION, TYPE_SESSION
from devdata.large.slots import Slot
from devdata.large.tables import Table
from patients.models import ConsentDocument, ConsentRecord, SkinProfile
from scheduling.models import Appointment
from treatments.models import (
    Batch,
    BatchUsage,
    Consultation,
    FacialArea,
    Ingredient,
    PlanProduct,
    Product,
    Technique,
    TreatmentPlan,
    TreatmentSession,
    add_months,
)

Status = Appointment.Status


class CoursesStep:
    """Gives slots to courses and consultations. Sets ``plan_sessions``, ``aftercare`` and
    ``course_done`` (for the outbox), ``pool`` and ``busy`` (patients free on a day), ``messages``."""

    def treatments(self) -> None:
        rng = self.rng
        formulary = self.formulary()
        consultations = Table(
            Consultation,
            [
                "patient", "doctor", "status", "consulted_on", "concerns", "concerns_other", "goals", "examination",
                "history_reviewed", "history_changes", "routine_reviewed", "routine_changes", "assessment",
                "suitability", "created_at", "updated_at", "signed_at",
            ],
        )  # fmt: skip
        plans = Table(
            TreatmentPlan,
            [
                "patient", "doctor", "consultation", "status", "session_count", "maintenance_interval_months",
                "technique", "numbing_cream", "areas", "starts_on", "notes", "created_at", "updated_at",
                "activated_at", "completed_at", "cancelled_at", "cancelled_by", "cancellation_reason",
                "maintenance_due_on",
            ],
        )  # fmt: skip
        plan_products = Table(PlanProduct, ["plan", "product", "amount_per_session"])
        sessions = Table(
            TreatmentSession,
            [
                "plan", "patient", "number", "doctor", "status", "performed_at", "numbing_applied_at", "technique",
                "areas", "injection_sites", "duration_minutes", "pain_score", "reactions", "reactions_other",
                "aftercare_given", "notes", "created_at", "updated_at", "signed_at",
            ],
        )  # fmt: skip
        usages = Table(BatchUsage, ["session", "batch", "amount"])
        skin = Table(
            SkinProfile,
            [
                "lineage", "version", "recorded_by", "recorded_at", "superseded_at", "patient", "fitzpatrick_type",
                "concerns", "pregnancy", "cleanser", "actives", "sunscreen_use", "routine_notes", "sun_exposure",
                "smoking", "stress", "lifestyle_notes",
            ],
        )  # fmt: skip
        consents = Table(
            ConsentRecord,
            [
                "patient", "document", "given_at", "witnessed_by", "recorded_by", "recorded_at", "withdrawn_at",
                "withdrawn_by", "withdrawal_reason",
            ],
        )  # fmt: skip
        document = ConsentDocument.objects.filter(procedure=ConsentDocument.Procedure.MESOTHERAPY).first()
        self.messages = self.message_table()
        active = [patient for patient in self.patient_ids if patient not in self.archived]
        rng.shuffle(active)
        pool_size = max(int(len(active) * 0.45), 1)
        self.course_patients = iter(active[pool_size:] + active[:pool_size])
        self.pool = active[:pool_size]
        self.busy: set[tuple[int, date]] = set()
        consultation_slots: dict[int, list[Slot]] = defaultdict(list)
        for slot in self.slots:
            if slot.kind == TYPE_CONSULTATION and slot.starts_at < self.now:
                consultation_slots[slot.practitioner].append(slot)
        areas_choices = [value for value, _ in FacialArea.choices]
        suitabilities = [Consultation.Suitability.SUITABLE] * 4 + [Consultation.Suitability.WITH_PRECAUTIONS]
        concerns_choices = [value for value, _ in Consultation.Concern.choices if value != "other"]
        self.plan_sessions: list[list[Slot]] = []
        self.aftercare: list[tuple[int, int, datetime]] = []
        self.course_done: list[tuple[int, int, datetime, date]] = []

        def consult(patient: int, doctor: int, on: date, with_plan: bool) -> int:
            signed = min(clock_reaches(on, time(10, 30)) + timedelta(minutes=rng.randint(0, 300)), self.now)
            return consultations.add(
                patient, doctor, Consultation.Status.SIGNED, on, rng.sample(concerns_choices, k=rng.randint(1, 3)),
                "", "Fresher, more even skin", "Fine lines, dehydrated skin", True, "", True, "",
                "Suitable for a course of mesotherapy" if with_plan else "Advice given",
                rng.choice(suitabilities), signed, signed, signed,
            )  # fmt: skip

        for slot in self.slots:
            if slot.kind != TYPE_SESSION or slot.plan is not None or rng.random() > 0.7:
                continue
            session_count = rng.randint(4, 6)
            course = self.book_course(slot, session_count)
            if course is None:
                continue
            patient, booked = course
            practitioner = slot.practitioner
            doctor = self.doctors[practitioner].pk
            first_day = booked[0].day
            # The consultation that led to the course: one of the practitioner's past consultation
            # appointments one to three weeks before, else a day without an appointment.
            consulted_on = min(first_day - timedelta(days=14), self.today - timedelta(days=1))
            candidates = consultation_slots.get(practitioner, [])
            for _ in range(4):
                if not candidates:
                    break
                candidate = candidates[rng.randrange(len(candidates))]
                if (
                    candidate.patient is None
                    and 7 <= (first_day - candidate.day).days <= 21
                    and (patient, candidate.day) not in self.busy
                ):
                    candidate.patient = patient
                    self.busy.add((patient, candidate.day))
                    consulted_on = candidate.day
                    break
            consultation = consult(patient, doctor, consulted_on, True)
            signed_at = min(clock_reaches(consulted_on, time(17)), self.now)
            skin.add(
                uuid.UUID(int=rng.getrandbits(128), version=4), 1, doctor, signed_at, None, patient,
                rng.choice(["I", "II", "III", "III", "IV", "V", "VI"]), ["fine_lines", "dehydration"], "no",
                "Gentle gel cleanser", rng.choice([["vitamin_c"], ["retinoid"], []]), "daily", "", "moderate",
                "never", "moderate", "",
            )  # fmt: skip
            if document is not None:
                consents.add(patient, document.pk, signed_at, doctor, doctor, signed_at, None, None, "")
            interval = rng.choice([6, 6, 9, 12])
            technique = rng.choice([Technique.NEEDLE_SYRINGE, Technique.NEEDLE_SYRINGE, Technique.MESO_PEN])
            areas = sorted(rng.sample(areas_choices, k=rng.randint(1, 4)))
            booked_at = min(booked[0].starts_at - timedelta(days=rng.uniform(2, 10)), self.now - timedelta(hours=1))
            booked_at = max(booked_at, signed_at)
            plan_id = plans.new_id()
            all_past = len(booked) == session_count and booked[-1].starts_at + timedelta(hours=1) < self.now
            cancel_from = None
            if rng.random() < 0.05 and len(booked) > 1:
                cancel_from = rng.randrange(1, len(booked))
                if booked[cancel_from].starts_at - timedelta(days=2) > self.now:
                    cancel_from = None
            status, completed_at, due_on, cancelled_at = TreatmentPlan.Status.ACTIVE, None, None, None
            reason = ""
            if cancel_from is not None:
                status = TreatmentPlan.Status.CANCELLED
                cancelled_at = booked[cancel_from].starts_at - timedelta(days=2)
                reason = "The patient moved away"
            elif all_past:
                status = TreatmentPlan.Status.COMPLETED
                completed_at = booked[-1].starts_at + timedelta(minutes=50)
                due_on = add_months(booked[-1].day, interval)
            for number, appointment in enumerate(booked, start=1):
                appointment.plan, appointment.session = plan_id, number
                appointment.created_at = booked_at
                if cancel_from is not None and number > cancel_from:
                    appointment.status = Status.CANCELLED
                    appointment.cancelled_at = cancelled_at
                elif appointment.starts_at + timedelta(minutes=45) < self.now:
                    appointment.status = Status.COMPLETED
                    performed = appointment.starts_at + timedelta(minutes=5)
                    signed = appointment.starts_at + timedelta(minutes=50)
                    session_id = sessions.add(
                        plan_id, patient, number, doctor, TreatmentSession.Status.SIGNED, performed,
                        appointment.starts_at - timedelta(minutes=25), technique, areas, "Nappage, 2 mm",
                        45, rng.randint(1, 5), rng.choice([[], [], ["redness"], ["bruising"]]), "",
                        "No make-up for 12 hours; avoid sun and sauna for 48 hours.", "", performed, signed, signed,
                    )  # fmt: skip
                    usages.add(session_id, formulary[technique == Technique.MESO_PEN][1], Decimal("2.00"))
                    self.aftercare.append((session_id, patient, signed))
            created = booked_at - timedelta(minutes=5)
            plans.add_with_id(
                plan_id, patient, doctor, consultation, status, session_count, interval, technique, "emla", areas,
                booked[0].day, "", created, completed_at or cancelled_at or booked_at, booked_at, completed_at,
                cancelled_at, doctor if cancelled_at else None, reason, due_on,
            )  # fmt: skip
            plan_products.add(plan_id, formulary[technique == Technique.MESO_PEN][0], Decimal("2.00"))
            if status == TreatmentPlan.Status.COMPLETED:
                self.course_done.append((plan_id, patient, completed_at, due_on))
            self.plan_sessions.append(booked)
        # Consultations without a course (advice only, or the patient did not go ahead).
        for slot in self.slots:
            past_consultation = slot.kind == TYPE_CONSULTATION and slot.starts_at < self.now
            if past_consultation and slot.patient is None and rng.random() < 0.4:
                patient = self.pick_patient(slot.day)
                if patient is None:
                    continue
                slot.patient = patient
                consult(patient, self.doctors[slot.practitioner].pk, slot.day, False)
        self.flush(consultations, plans, plan_products, sessions, usages, skin, consents)

    def formulary(self) -> list[tuple[int, int]]:
        """(product id, batch id) of the syringe cocktail and of the pen cocktail."""
        batches = []
        for name, manufacturer, presentation, ingredients in FORMULARY:
            product, _ = Product.objects.get_or_create(
                name=name, manufacturer=manufacturer, defaults={"presentation": presentation}
            )
            for ingredient_name, category in ingredients:
                ingredient, _ = Ingredient.objects.get_or_create(name=ingredient_name, defaults={"category": category})
                product.ingredients.add(ingredient)
            batch, _ = Batch.objects.get_or_create(
                product=product,
                lot_number=f"LG{product.pk:04d}",
                defaults={"expiry_date": self.today + timedelta(days=400), "quantity_in_stock": Decimal(100000)},
            )
            batches.append((product.pk, batch.pk))
        return batches[:2]

    def book_course(self, first: Slot, session_count: int) -> tuple[int, list[Slot]] | None:
        """A new patient's weekly sessions with the same practitioner from ``first`` on (the
        nearest free session slot within two days when the same weekday is taken)."""
        patient = next(self.course_patients, None)
        if patient is None or (patient, first.day) in self.busy:
            return None
        booked = [first]
        self.free_sessions[(first.practitioner, first.day)].remove(first)
        target = first.day
        for _ in range(session_count - 1):
            target += timedelta(days=7)
            found = None
            for shift in (0, 1, -1, 2, -2):
                day = target + timedelta(days=shift)
                free = self.free_sessions.get((first.practitioner, day))
                if free and (patient, day) not in self.busy:
                    found = free.pop(self.rng.randrange(len(free)))
                    break
            if found is None:
                break
            booked.append(found)
            target = found.day
        for slot in booked:
            slot.patient = patient
            slot.plan = -1  # claimed; the plan id is set by the caller
            self.busy.add((patient, slot.day))
        return patient, booked

    def pick_patient(self, day: date) -> int | None:
        for _ in range(30):
            patient = self.pool[self.rng.randrange(len(self.pool))]
            if (patient, day) not in self.busy:
                self.busy.add((patient, day))
                return patient
        return None
