"""Patients with their contact details and medical histories."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from devdata.large.reference import CITIES, HISTORY, LETTERS, MOBILE_PREFIXES, STREETS, email_part
from devdata.large.tables import Table
from patients.models import HistoryItem, Patient


class PatientsStep:
    """Sets ``patient_ids``, ``archived`` and what the outbox needs of each patient
    (``patient_email``, ``patient_consents``, ``patient_unsubscribed``)."""

    def patients(self) -> None:
        rng = self.rng
        table = Table(
            Patient,
            [
                "first_name", "last_name", "date_of_birth", "sex", "phone", "email", "address_line1",
                "address_line2", "city", "postcode", "country", "emergency_contact_name",
                "emergency_contact_relationship", "emergency_contact_phone", "preferred_contact_channel",
                "reminder_emails_consent", "reminder_emails_consent_changed_at", "email_unsubscribed_at",
                "reception_notes", "archived_at", "archived_by", "created_at", "created_by", "updated_at",
            ],
        )  # fmt: skip
        history = Table(
            HistoryItem,
            [
                "lineage", "version", "recorded_by", "recorded_at", "superseded_at", "patient", "category", "code",
                "name", "details", "started_on", "ended_on", "status",
            ],
        )  # fmt: skip
        weights = [entry[4] for entry in HISTORY]
        domains = ["example.com", "example.org", "example.net", "mail.example"]
        phones: set[str] = set()
        self.patient_ids: list[int] = []
        self.patient_email: dict[int, str] = {}
        self.patient_consents: dict[int, bool] = {}
        self.patient_unsubscribed: set[int] = set()
        self.archived: set[int] = set()
        channels = [Patient.ContactChannel.EMAIL] * 6 + [Patient.ContactChannel.SMS] * 3 + ["phone"]
        for number in range(self.sizes.patients):
            female = rng.random() < 0.86
            first = rng.choice(self.first_female if female else self.first_male)
            last = rng.choice(self.last_names)
            if rng.random() < 0.04:
                last = f"{last}-{rng.choice(self.last_names)}"[:100]
            sex = Patient.Sex.FEMALE if female else rng.choice([Patient.Sex.MALE] * 9 + [Patient.Sex.OTHER])
            age = int(rng.triangular(19, 78, 42))
            born = date(self.today.year - age, rng.randint(1, 12), rng.randint(1, 28))
            phone = ""
            if rng.random() < 0.95:
                while not phone or phone in phones:
                    phone = f"+44{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
                phones.add(phone)
            email = ""
            if rng.random() < 0.9:
                email = f"{email_part(first)}.{email_part(last)}{number}@{rng.choice(domains)}"
            created = self.now - timedelta(days=rng.uniform(1, 2000))
            consent = bool(email) and rng.random() < 0.7
            unsubscribed = created + timedelta(days=1) if email and rng.random() < 0.01 else None
            archived = None
            if rng.random() < 0.02:
                archived = created + (self.now - created) * rng.random()
            city, postcode = rng.choice(CITIES)
            patient_id = table.add(
                first, last, born, sex, phone, email,
                f"{rng.randint(1, 240)} {rng.choice(STREETS)}", "", city,
                f"{postcode} {rng.randint(1, 9)}{rng.choice(LETTERS)}{rng.choice(LETTERS)}",
                "United Kingdom", f"{rng.choice(self.first_female)} {last}" if rng.random() < 0.6 else "",
                "Partner" if rng.random() < 0.5 else "", "", rng.choice(channels), consent,
                created if consent else None, unsubscribed, "", archived,
                self.receptionists[0].pk if archived else None, created, self.marker.pk, archived or created,
            )  # fmt: skip
            self.patient_ids.append(patient_id)
            if archived:
                self.archived.add(patient_id)
            if email:
                self.patient_email[patient_id] = email
            self.patient_consents[patient_id] = consent
            if unsubscribed:
                self.patient_unsubscribed.add(patient_id)
            for entry in rng.choices(HISTORY, weights=weights, k=rng.choice([0, 0, 0, 1, 1, 1, 2, 2, 3])):
                category, code, name, details, _ = entry
                recorded = created + timedelta(minutes=30)
                doctor = rng.choice(self.doctors).pk
                lineage = uuid.UUID(int=rng.getrandbits(128), version=4)
                ended = None
                status = HistoryItem.Status.CURRENT
                if category == HistoryItem.Category.MEDICATION and code == HistoryItem.Code.ISOTRETINOIN:
                    status, ended = HistoryItem.Status.PAST, (created - timedelta(days=200)).date()
                if rng.random() < 0.05:  # an older version, corrected later
                    history.add(
                        lineage, 1, doctor, recorded, recorded + timedelta(days=30), patient_id, category, code,
                        name, "", None, None, HistoryItem.Status.CURRENT,
                    )  # fmt: skip
                    history.add(
                        lineage, 2, doctor, recorded + timedelta(days=30), None, patient_id, category, code, name,
                        details, None, ended, status,
                    )  # fmt: skip
                else:
                    history.add(
                        lineage, 1, doctor, recorded, None, patient_id, category, code, name, details, None, ended,
                        status,
                    )  # fmt: skip
        self.flush(table, history)
