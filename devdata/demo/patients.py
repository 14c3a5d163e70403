"""Demo data for the foundation: staff accounts and about 200 patients with histories."""

from __future__ import annotations

import io
import math
import random
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from clinic import roles
from patients.models import ConsentDocument, ConsentRecord, HistoryItem, Patient, SkinProfile

DEMO_PASSWORD = "demo-clinic-2026"  # noqa: S105 - printed on purpose, demo machines only
DEMO_STAFF = [
    ("doctor", "Amélie", "Laurent", roles.DOCTOR),
    ("doctor2", "Samuel", "Osei", roles.DOCTOR),
    ("reception", "Rosa", "Delgado", roles.RECEPTIONIST),
    ("manager", "Helen", "Carter", roles.MANAGER),
]
FIRST_NAMES = [
    "Chloé", "Zoë", "Hélène", "Sophie", "Emma", "Olivia", "Amelia", "Isla", "Ava", "Mia", "Léa", "Inès",
    "Grace", "Freya", "Lucía", "María", "Anaïs", "Noémie", "Ruth", "Priya", "Aisha", "Hannah", "Julia",
    "Charlotte", "Eleanor", "Marta", "Agnieszka", "Siobhan", "Niamh", "Yasmin", "James", "Oliver", "Lucas",
]  # fmt: skip
LAST_NAMES = [
    "Martin", "Dubois", "Müller", "Núñez", "García", "Smith", "Jones", "Williams", "Brown", "Taylor",
    "O'Connor", "Kowalski", "Nowak", "Rossi", "Bianchi", "Patel", "Khan", "Nguyen", "Lefèvre", "Moreau",
    "Fernández", "Johansson", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Hughes", "Edwards", "Clarke",
]  # fmt: skip
CITIES = ["London", "Brighton", "Guildford", "Reading", "Oxford", "Cambridge"]
HISTORY_CHOICES = [
    (HistoryItem.Category.ALLERGY, HistoryItem.Code.LOCAL_ANAESTHETIC, "Lidocaine", "Hives after dental anaesthesia"),
    (HistoryItem.Category.ALLERGY, HistoryItem.Code.OTHER, "Penicillin", "Rash"),
    (HistoryItem.Category.ALLERGY, HistoryItem.Code.INGREDIENT, "Hyaluronic acid", "Swelling after filler"),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.HERPES, "Cold sores", "Two or three a year"),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.DIABETES, "Type 2 diabetes", "Diet controlled"),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.KELOID, "Keloid scars", "After ear piercing"),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.AUTOIMMUNE, "Hashimoto's thyroiditis", ""),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.ANTICOAGULANT, "Aspirin", "75 mg daily"),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.ANTICOAGULANT, "Apixaban", "5 mg twice daily"),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.OTHER, "Levothyroxine", "50 micrograms daily"),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.OTHER, "Combined contraceptive pill", ""),
    (HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.BOTULINUM_TOXIN, "Botox", "Forehead, no reaction"),
    (HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.CHEMICAL_PEEL, "Glycolic peel", "Redness for two days"),
    (HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.MESOTHERAPY, "Mesotherapy course", "Slight bruising"),
]  # fmt: skip
PATIENT_COUNT = 200


def seed_staff() -> dict[str, object]:
    User = get_user_model()
    staff = {}
    for username, first, last, role in DEMO_STAFF:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@clinic.example"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role == roles.MANAGER
            user.save()
            user.groups.add(Group.objects.get(name=role))
        staff[username] = user
    return staff


def _patients(rng: random.Random) -> list[Patient]:
    today = timezone.localdate()
    patients = []
    for number in range(PATIENT_COUNT):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        born = date(today.year - rng.randint(22, 68), rng.randint(1, 12), rng.randint(1, 28))
        email_name = f"{first}.{last}".lower().replace("'", "")
        patients.append(
            Patient(
                first_name=first,
                last_name=last,
                date_of_birth=born,
                sex=Patient.Sex.MALE if first in {"James", "Oliver", "Lucas"} else Patient.Sex.FEMALE,
                phone=f"+4479111{number:05d}",
                email=f"{email_name.encode('ascii', 'ignore').decode()}{number}@example.com",
                address_line1=f"{rng.randint(1, 200)} {rng.choice(['High Street', 'Church Road', 'Mill Lane'])}",
                city=rng.choice(CITIES),
                postcode=f"SW{rng.randint(1, 20)} {rng.randint(1, 9)}AB",
                country="United Kingdom",
                preferred_contact_channel=rng.choice(list(Patient.ContactChannel.values)),
                reminder_emails_consent=rng.random() < 0.8,
                reminder_emails_consent_changed_at=timezone.now(),
            )
        )
    return patients


def drawn_signature_png(seed: int = 0) -> bytes:
    """A small PNG that looks like a signature drawn on the pad: a dark, wavy stroke on a
    transparent 600x200 canvas, different for each seed."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    image = Image.new("RGBA", (600, 200))
    draw = ImageDraw.Draw(image)
    amplitude, frequency, phase = rng.uniform(20, 45), rng.uniform(0.03, 0.07), rng.uniform(0, math.pi)
    points = [(x, 100 + amplitude * math.sin(frequency * x + phase)) for x in range(40, 560, 6)]
    draw.line(points, fill=(17, 17, 17, 255), width=3, joint="curve")
    draw.line([(60, 160), (rng.randint(300, 540), 150)], fill=(17, 17, 17, 255), width=3)
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def _signed_consent(*, patient: Patient, document: ConsentDocument, given_at, doctor) -> ConsentRecord:
    record = ConsentRecord(
        patient=patient, document=document, given_at=given_at, witnessed_by=doctor, recorded_by=doctor,
        recorded_at=given_at, signature_png=drawn_signature_png(patient.pk), signed_name=patient.full_name,
        signed_at=given_at,
    )  # fmt: skip
    record.signature_sha256 = record.compute_signature_hash()
    return record


@transaction.atomic
def seed_patients(*, doctor) -> int:
    """Create the demo patients that do not exist yet (by phone number, unique to each)."""
    rng = random.Random(20261125)  # noqa: S311 - demo data, not security
    wanted = _patients(rng)
    existing = set(Patient.objects.filter(phone__in=[p.phone for p in wanted]).values_list("phone", flat=True))
    new = [p for p in wanted if p.phone not in existing]
    for patient in new:
        patient.email = patient.email.lower()
        patient.full_clean(exclude=["search_key"])
    created = Patient.objects.bulk_create(new)
    current_texts = {document.procedure: document for document in ConsentDocument.objects.current()}
    items, profiles, consents = [], [], []
    now = timezone.now()
    for patient in created:
        for category, code, name, details in rng.sample(HISTORY_CHOICES, rng.randint(0, 3)):
            items.append(
                HistoryItem(
                    patient=patient, category=category, code=code, name=name, details=details,
                    recorded_by=doctor, recorded_at=now - timedelta(days=rng.randint(1, 400)),
                )
            )  # fmt: skip
        profiles.append(
            SkinProfile(
                patient=patient,
                recorded_by=doctor,
                fitzpatrick_type=rng.choice(list(SkinProfile.Fitzpatrick.values)),
                concerns=rng.sample(list(SkinProfile.Concern.values), rng.randint(1, 3)),
                pregnancy=SkinProfile.Pregnancy.PREGNANT if rng.random() < 0.03 else SkinProfile.Pregnancy.NO,
                cleanser=rng.choice(["Gentle foaming cleanser", "Micellar water", "Oil cleanser"]),
                actives=rng.sample(list(SkinProfile.Active.values), rng.randint(0, 2)),
                sunscreen_use=rng.choice(list(SkinProfile.Frequency.values)),
                sun_exposure=rng.choice(list(SkinProfile.Level.values)),
                smoking=rng.choice(list(SkinProfile.Smoking.values)),
                stress=rng.choice(list(SkinProfile.Level.values)),
            )
        )
        if rng.random() < 0.6:
            given_at = now - timedelta(days=rng.randint(1, 300))
            consents.extend(
                _signed_consent(patient=patient, document=document, given_at=given_at, doctor=doctor)
                for document in current_texts.values()
            )
    HistoryItem.objects.bulk_create(items)
    SkinProfile.objects.bulk_create(profiles)
    ConsentRecord.objects.bulk_create(consents)
    return len(created)
