"""A large, realistic clinic for benchmarks: ``manage.py seed_large``.

Staff, rooms, working hours, time off and closures, 100,000+ patients with medical
histories, about ten appointments per practitioner per working day over the period (past
ones completed, missed or cancelled; future ones booked or confirmed), consultations,
treatment courses with their weekly sessions, and the outbox rows all of these imply.

The big tables are written with PostgreSQL's COPY from an in-memory buffer, in one
transaction, then ANALYZEd. The ids are chosen here (above the current maximum) so that
rows can point at each other without a round trip per row.

Everything generated is marked: staff usernames start with ``large-``, patients are created
by the inactive ``large-seed`` account and rooms are called ``Suite NN``. The generator
refuses a database holding anything else unless told to add its clinic beside it, and
replaces its own earlier clinic when run again.
"""

from __future__ import annotations

import io
import itertools
import random
import time as clock
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, models, transaction
from django.utils import timezone

from clinic import roles
from messaging.models import ScheduledMessage
from patients.models import ConsentDocument, ConsentRecord, HistoryItem, Patient, SkinProfile
from scheduling.models import (
    Appointment,
    AppointmentChange,
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    TimeOff,
    WorkingHours,
)
from scheduling.services import confirmation_key, message_key, reminder_key
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
from treatments.services import AFTERCARE_AT, RECALL_AT, plan_ref, session_ref
from treatments.services import message_key as treatment_message_key

USERNAME_PREFIX = "large-"
MARKER_USERNAME = "large-seed"
ROOM_PREFIX = "Suite "
PASSWORD = "large-clinic-2026"  # noqa: S105 - benchmark databases only, printed on purpose
FUTURE_DAYS = 56  # how far ahead the calendars are booked
TYPE_CONSULTATION, TYPE_SESSION, TYPE_REVIEW = "Consultation", "Mesotherapy session", "Review"
DEFAULT_TYPES = {  # as seeded by scheduling's migration 0002: duration, buffer, colour, course session
    TYPE_CONSULTATION: (30, 0, "#0d6efd", False),
    TYPE_SESSION: (45, 15, "#6f42c1", True),
    TYPE_REVIEW: (15, 0, "#198754", False),
}
# Tables emptied when the generator replaces its own earlier clinic (the migrations' reference
# data - groups, permissions, appointment types, consent texts, formulary - is kept).
GENERATED_MODELS = [
    ScheduledMessage, AppointmentChange, Appointment, BatchUsage, TreatmentSession, PlanProduct, TreatmentPlan,
    Consultation, TimeOff, ClinicClosure, WorkingHours, Practitioner, Room, ConsentRecord, SkinProfile,
    HistoryItem, Patient,
]  # fmt: skip

Kind = ScheduledMessage.Kind
MessageStatus = ScheduledMessage.Status
Status = Appointment.Status


@dataclass(frozen=True)
class Sizes:
    patients: int = 100_000
    practitioners: int = 20
    years: float = 1.0
    appointments_per_day: int = 10
    seed: int = 2026


# The database's state ------------------------------------------------------------------


def foreign_data() -> list[str]:
    """What the database holds that seed_large did not generate, e.g. ["3 staff accounts"]."""
    User = get_user_model()
    found = []
    counts = [
        ("staff accounts", User.objects.exclude(username__startswith=USERNAME_PREFIX).count()),
        ("patients", Patient.objects.exclude(created_by__username=MARKER_USERNAME).count()),
        ("rooms", Room.objects.exclude(name__startswith=ROOM_PREFIX).count()),
    ]
    for label, count in counts:
        if count:
            found.append(f"{count} {label}")
    return found


def has_generated_data() -> bool:
    return get_user_model().objects.filter(username__startswith=USERNAME_PREFIX).exists()


def wipe_generated() -> None:
    """Empty the tables of an earlier generated clinic. Only called when the database holds
    nothing else (checked by the caller)."""
    User = get_user_model()
    tables = [model._meta.db_table for model in GENERATED_MODELS]
    tables += ["clinic_auditentry", "django_session", User._meta.db_table]
    with connection.cursor() as cursor:
        # Deferred foreign-key checks still pending in this transaction would block TRUNCATE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


# COPY ---------------------------------------------------------------------------------


def _escape(value) -> str:
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, list | tuple):
        return "{" + ",".join(f'"{item}"' for item in value) + "}"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


class Table:
    """Rows for one model, written by COPY; ids are handed out by ``new_id``."""

    def __init__(self, model: type[models.Model], fields: Sequence[str]) -> None:
        self.model = model
        self.fields = ["id", *fields]
        meta = model._meta
        self.columns = [meta.get_field(name).column for name in self.fields]
        missing = [
            field.name
            for field in meta.concrete_fields
            if not field.null
            and field.name not in self.fields
            and field.attname not in self.fields
            and not isinstance(field, models.GeneratedField)
            and field.db_default is models.NOT_PROVIDED
        ]
        if missing:
            raise RuntimeError(f"{meta.label}: the generator gives no value for {', '.join(missing)}")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {meta.db_table}")  # noqa: S608 - our table name
            self.next_id = cursor.fetchone()[0] + 1
        self.buffer = io.StringIO()
        self.count = 0

    def new_id(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value

    def add(self, *values) -> int:
        """Add a row (values in the order of ``fields``, without the id); returns its id."""
        row_id = self.new_id()
        self.add_with_id(row_id, *values)
        return row_id

    def add_with_id(self, row_id: int, *values) -> None:
        self.buffer.write(f"{row_id}\t" + "\t".join(map(_escape, values)) + "\n")
        self.count += 1

    def flush(self) -> int:
        table = self.model._meta.db_table
        self.buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({', '.join(self.columns)}) FROM STDIN", self.buffer)
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST(MAX(id), 1)) FROM " + table,  # noqa: S608
                [table],
            )
        written, self.count = self.count, 0
        self.buffer = io.StringIO()
        return written


# Names and reference data ---------------------------------------------------------------


def _name_lists() -> tuple[list[str], list[str], list[str]]:
    """Female first names, male first names and surnames of several languages, so that
    search meets accents, apostrophes and hyphens (Faker is a test dependency)."""
    from faker.providers.person.de_DE import Provider as German
    from faker.providers.person.en_GB import Provider as British
    from faker.providers.person.es_ES import Provider as Spanish
    from faker.providers.person.fr_FR import Provider as French
    from faker.providers.person.it_IT import Provider as Italian
    from faker.providers.person.pl_PL import Provider as Polish

    providers = [British, French, Spanish, Italian, German, Polish]
    female, male, last = set(), set(), set()
    for provider in providers:
        female.update(getattr(provider, "first_names_female", ()))
        male.update(getattr(provider, "first_names_male", ()))
        last.update(getattr(provider, "last_names", ()))

    def clean(names: set[str]) -> list[str]:
        return sorted(name for name in names if 1 < len(name) <= 40)

    return clean(female), clean(male), clean(last)


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if char.isascii() and (char.isalnum() or char == ".")).lower()


CITIES = [
    ("London", "SW1A"), ("London", "N1"), ("London", "SE15"), ("Brighton", "BN1"), ("Guildford", "GU1"),
    ("Reading", "RG1"), ("Oxford", "OX1"), ("Cambridge", "CB2"), ("Croydon", "CR0"), ("Kingston", "KT1"),
]  # fmt: skip
# UK mobile ranges that phonenumbers accepts (076 is pagers, 0791 partly unallocated).
MOBILE_PREFIXES = [f"7{a}{b}" for a in "4589" for b in "0123456789" if (a, b) != ("9", "1")]
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters of a postcode's inward code
STREETS = ["High Street", "Station Road", "Church Lane", "Park Avenue", "Victoria Road", "Mill Lane", "The Green"]
HISTORY = [
    (HistoryItem.Category.ALLERGY, HistoryItem.Code.LOCAL_ANAESTHETIC, "Lidocaine", "Hives after dental work", 4),
    (HistoryItem.Category.ALLERGY, HistoryItem.Code.OTHER, "Penicillin", "Rash", 10),
    (HistoryItem.Category.ALLERGY, HistoryItem.Code.LATEX, "Latex", "Contact dermatitis", 3),
    (HistoryItem.Category.ALLERGY, HistoryItem.Code.INGREDIENT, "Hyaluronic acid", "Swelling after filler", 2),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.HERPES, "Cold sores", "Two or three a year", 12),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.DIABETES, "Type 2 diabetes", "Diet controlled", 5),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.KELOID, "Keloid scars", "After ear piercing", 2),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.AUTOIMMUNE, "Hashimoto's thyroiditis", "", 4),
    (HistoryItem.Category.CONDITION, HistoryItem.Code.OTHER, "Asthma", "Inhaler when needed", 10),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.ANTICOAGULANT, "Aspirin", "75 mg daily", 5),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.ANTICOAGULANT, "Apixaban", "5 mg twice daily", 1),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.OTHER, "Levothyroxine", "50 micrograms daily", 6),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.OTHER, "Combined contraceptive pill", "", 12),
    (HistoryItem.Category.MEDICATION, HistoryItem.Code.ISOTRETINOIN, "Isotretinoin", "Course finished", 1),
    (HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.BOTULINUM_TOXIN, "Botox", "Forehead", 10),
    (HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.DERMAL_FILLER, "Lip filler", "No reaction", 6),
    (HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.CHEMICAL_PEEL, "Glycolic peel", "Redness", 6),
    (HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.MESOTHERAPY, "Mesotherapy course", "Bruising", 5),
]  # fmt: skip
FORMULARY = [
    # product, manufacturer, presentation, ingredients (name, category)
    ("NCTF 135 HA", "Filorga", "5 vials of 3 ml", [("Hyaluronic acid", "hyaluronic_acid"), ("Vitamin C", "vitamin")]),
    ("Meso-Wharton P199", "Fusion", "5 vials of 1.5 ml", [("Peptide complex", "peptide")]),
    ("Dermaheal SR", "Caregen", "10 vials of 5 ml", [("Amino acid complex", "amino_acid")]),
    ("Jalupro", "Professional Derma", "2 vials of 3 ml", [("Glycine", "amino_acid"), ("Proline", "amino_acid")]),
]


# The generator -------------------------------------------------------------------------


class _Slot:
    """One appointment of the calendar being built."""

    __slots__ = (
        "cancelled_at", "created_at", "day", "id", "kind", "patient", "plan", "practitioner", "session", "starts_at",
        "status",
    )  # fmt: skip

    def __init__(self, practitioner: int, day: date, starts_at: datetime, kind: str) -> None:
        self.practitioner, self.day, self.starts_at, self.kind = practitioner, day, starts_at, kind
        self.id = self.patient = self.plan = self.session = self.status = None
        self.created_at = self.cancelled_at = None


class Generator:
    def __init__(self, sizes: Sizes, *, log) -> None:
        self.sizes = sizes
        self.log = log
        self.rng = random.Random(sizes.seed)  # noqa: S311 - reproducible fake data, not secrets
        self.now = timezone.now().replace(microsecond=0)
        self.zone = timezone.get_default_timezone()
        self.today = timezone.localdate(self.now)
        days = max(round(365 * sizes.years), 1)
        self.first_day = self.today - timedelta(days=max(days - FUTURE_DAYS, 1))
        self.last_day = self.today + timedelta(days=min(FUTURE_DAYS, days))
        self.counts: dict[str, int] = {}

    def at(self, day: date, at: time) -> datetime:
        """The instant (UTC) a local wall-clock time happens (the first one, if twice)."""
        return datetime.combine(day, at).replace(tzinfo=self.zone).astimezone(UTC)

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def run(self) -> dict[str, int]:
        started = clock.monotonic()
        self.staff()
        self.step("staff, rooms, hours", started)
        self.patients()
        self.step("patients and histories", started)
        self.calendar()
        self.step("calendar laid out", started)
        self.treatments()
        self.step("courses and consultations", started)
        self.appointments_and_messages()
        self.step("appointments and outbox", started)
        with connection.cursor() as cursor:
            # Rows COPYed into a GIN index (the trigram search indexes) wait in its pending list,
            # which every search would scan until the next vacuum: merge them now.
            cursor.execute(
                "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'gin' AND c.relnamespace = 'public'::regnamespace"
            )
            cursor.execute("ANALYZE")
        self.step("GIN pending lists merged, ANALYZE", started)
        return self.counts

    def step(self, label: str, started: float) -> None:
        self.log(f"  {clock.monotonic() - started:6.1f} s  {label}")

    def flush(self, *tables: Table) -> None:
        for table in tables:
            self.counts[table.model._meta.label] = self.counts.get(table.model._meta.label, 0) + table.flush()

    # Staff, rooms and opening hours -----------------------------------------------------

    def staff(self) -> None:
        User = get_user_model()
        groups = {group.name: group for group in Group.objects.filter(name__in=roles.ALL_ROLES)}
        password = make_password(PASSWORD)
        female, male, last = _name_lists()
        self.first_female, self.first_male, self.last_names = female, male, last
        rng = self.rng
        self.marker = User.objects.create(
            username=MARKER_USERNAME, first_name="Large", last_name="Clinic generator", is_active=False,
            password=make_password(None),
        )  # fmt: skip
        people = []
        practitioner_count = self.sizes.practitioners
        reception_count = max(2, practitioner_count // 4)
        for number in range(1, practitioner_count + 1):
            people.append((f"{USERNAME_PREFIX}doctor{number:02d}", roles.DOCTOR))
        for number in range(1, reception_count + 1):
            people.append((f"{USERNAME_PREFIX}reception{number:02d}", roles.RECEPTIONIST))
        people.append((f"{USERNAME_PREFIX}manager", roles.MANAGER))
        users = User.objects.bulk_create(
            User(
                username=username, first_name=rng.choice(female), last_name=rng.choice(last),
                email=f"{username}@clinic.example", password=password, is_staff=role == roles.MANAGER,
                date_joined=self.now - timedelta(days=400),
            )
            for username, role in people
        )  # fmt: skip
        memberships = [
            User.groups.through(user_id=user.pk, group_id=groups[role].pk)
            for user, (_, role) in zip(users, people, strict=True)
        ]
        User.groups.through.objects.bulk_create(memberships)
        self.doctors = users[:practitioner_count]
        self.receptionists = users[practitioner_count : practitioner_count + reception_count]
        rooms = Room.objects.bulk_create(
            Room(name=f"{ROOM_PREFIX}{number:02d}") for number in range(1, practitioner_count + 3)
        )
        colours = ["#6f42c1", "#d63384", "#fd7e14", "#20c997", "#0dcaf0", "#198754", "#dc3545", "#0d6efd"]
        self.practitioners = Practitioner.objects.bulk_create(
            Practitioner(user=user, colour=colours[index % len(colours)], default_room=rooms[index])
            for index, user in enumerate(self.doctors)
        )
        # Most work Monday to Friday 09:00-18:00; some Tuesday to Saturday; some start early.
        self.hours: list[dict[int, tuple[time, time]]] = []
        rows = []
        for index, practitioner in enumerate(self.practitioners):
            pattern = index % 5
            weekdays = [1, 2, 3, 4, 5] if pattern == 3 else [0, 1, 2, 3, 4]
            opens, closes = (time(8, 30), time(17, 30)) if pattern == 4 else (time(9), time(18))
            self.hours.append(dict.fromkeys(weekdays, (opens, closes)))
            rows += [
                WorkingHours(practitioner=practitioner, weekday=weekday, starts_at=opens, ends_at=closes)
                for weekday in weekdays
            ]
        WorkingHours.objects.bulk_create(rows)
        # Two weeks of holiday each, away from the next three weeks (what the benchmark looks at).
        self.away: list[set[date]] = []
        time_off = []
        quiet = {self.today + timedelta(days=offset) for offset in range(-7, 22)}
        span = (self.last_day - self.first_day).days
        for practitioner in self.practitioners:
            away: set[date] = set()
            for _ in range(2):
                if span < 60:
                    break
                start = self.first_day + timedelta(days=rng.randrange(0, span - 7))
                week = {start + timedelta(days=offset) for offset in range(7)}
                if week & quiet:
                    continue
                away |= week
                time_off.append(
                    TimeOff(
                        practitioner=practitioner, starts_at=self.at(start, time(0)),
                        ends_at=self.at(start + timedelta(days=7), time(0)), reason="Annual leave",
                    )
                )  # fmt: skip
            self.away.append(away)
        TimeOff.objects.bulk_create(time_off)
        self.closed = {
            day
            for day in (self.first_day + timedelta(days=offset) for offset in range(span + 1))
            if (day.month, day.day) in {(12, 25), (12, 26), (1, 1)}
        }
        ClinicClosure.objects.bulk_create(
            ClinicClosure(
                starts_at=self.at(day, time(0)), ends_at=self.at(day + timedelta(days=1), time(0)),
                reason="Bank holiday",
            )
            for day in sorted(self.closed)
        )  # fmt: skip
        self.types = {}
        for name, (duration, buffer, colour, course) in DEFAULT_TYPES.items():
            self.types[name], _ = AppointmentType.objects.get_or_create(
                name=name,
                defaults={
                    "duration_minutes": duration, "buffer_minutes": buffer, "colour": colour,
                    "is_course_session": course,
                },
            )  # fmt: skip
        self.counts.update(staff=len(users), rooms=len(rooms), practitioners=len(self.practitioners))

    # Patients ---------------------------------------------------------------------------

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
                email = f"{_ascii(first)}.{_ascii(last)}{number}@{rng.choice(domains)}"
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

    # The calendar -----------------------------------------------------------------------

    def calendar(self) -> None:
        """Lay out every practitioner's days: about ``appointments_per_day`` appointments
        one after another with random gaps, no overlap (practitioner, room or patient)."""
        rng = self.rng
        blocked = {
            name: appointment_type.duration_minutes + appointment_type.buffer_minutes
            for name, appointment_type in self.types.items()
        }
        self.slots: list[_Slot] = []
        self.free_sessions: dict[tuple[int, date], list[_Slot]] = defaultdict(list)
        day = self.first_day
        while day <= self.last_day:
            ahead = (day - self.today).days
            # Near days are full; further ahead fewer appointments are booked yet.
            fill = 1.0 if ahead <= 14 else max(0.5, 1.0 - 0.5 * (ahead - 14) / (FUTURE_DAYS - 14))
            for index in range(len(self.practitioners)):
                hours = self.hours[index].get(day.weekday())
                if hours is None or day in self.closed or day in self.away[index]:
                    continue
                opens, closes = hours
                capacity = (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)
                count = max(round(self.sizes.appointments_per_day * fill) + rng.choice([-1, 0, 1, 1]), 0)
                sessions = round(count * 0.5)
                consultations = round(count * 0.3)
                kinds = (
                    [TYPE_SESSION] * sessions
                    + [TYPE_CONSULTATION] * consultations
                    + [TYPE_REVIEW] * (count - sessions - consultations)
                )
                while kinds and sum(blocked[kind] for kind in kinds) > capacity:
                    kinds.pop(0)
                rng.shuffle(kinds)
                gaps = [0] * (len(kinds) + 1)
                for _ in range((capacity - sum(blocked[kind] for kind in kinds)) // 15):
                    gaps[rng.randrange(len(gaps))] += 15
                minute = opens.hour * 60 + opens.minute + gaps[0]
                for position, kind in enumerate(kinds):
                    starts_at = self.at(day, time(minute // 60, minute % 60))
                    slot = _Slot(index, day, starts_at, kind)
                    self.slots.append(slot)
                    if kind == TYPE_SESSION:
                        self.free_sessions[(index, day)].append(slot)
                    minute += blocked[kind] + gaps[position + 1]
            day += timedelta(days=1)
        self.slots.sort(key=lambda slot: (slot.starts_at, slot.practitioner))

    # Consultations, courses and sessions ------------------------------------------------

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
        consultation_slots: dict[int, list[_Slot]] = defaultdict(list)
        for slot in self.slots:
            if slot.kind == TYPE_CONSULTATION and slot.starts_at < self.now:
                consultation_slots[slot.practitioner].append(slot)
        areas_choices = [value for value, _ in FacialArea.choices]
        suitabilities = [Consultation.Suitability.SUITABLE] * 4 + [Consultation.Suitability.WITH_PRECAUTIONS]
        concerns_choices = [value for value, _ in Consultation.Concern.choices if value != "other"]
        self.plan_sessions: list[list[_Slot]] = []
        self.aftercare: list[tuple[int, int, datetime]] = []
        self.course_done: list[tuple[int, int, datetime, date]] = []

        def consult(patient: int, doctor: int, on: date, with_plan: bool) -> int:
            signed = min(self.at(on, time(10, 30)) + timedelta(minutes=rng.randint(0, 300)), self.now)
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
            signed_at = min(self.at(consulted_on, time(17)), self.now)
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

    def book_course(self, first: _Slot, session_count: int) -> tuple[int, list[_Slot]] | None:
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

    # Appointments and the outbox --------------------------------------------------------

    def message_table(self) -> Table:
        return Table(
            ScheduledMessage,
            [
                "kind", "patient", "subject_ref", "dedupe_key", "due_at", "status", "attempts", "last_error",
                "enqueued_at", "claimed_at", "sent_at", "provider_message_id", "recipient", "created_at",
                "updated_at",
            ],
        )  # fmt: skip

    def message(
        self, kind: str, patient: int, subject_ref: str, dedupe_key: str, due_at: datetime, *, cancelled_at=None
    ):
        """An outbox row as the delivery would have left it by now."""
        email = self.patient_email.get(patient, "")
        if cancelled_at is not None and cancelled_at <= due_at:
            status, error, sent_at, attempts = MessageStatus.CANCELLED, "Appointment cancelled.", None, 0
        elif due_at > self.now:
            status, error, sent_at, attempts = MessageStatus.PENDING, "", None, 0
        elif not email:
            status, error, sent_at, attempts = MessageStatus.CANCELLED, "The patient has no email address.", None, 1
        elif patient in self.patient_unsubscribed:
            status, error, sent_at, attempts = MessageStatus.CANCELLED, "The patient unsubscribed from emails.", None, 1
        elif kind == Kind.MAINTENANCE_RECALL and not self.patient_consents.get(patient):
            error = "The patient has not consented to reminder emails."
            status, sent_at, attempts = MessageStatus.CANCELLED, None, 1
        else:
            status, error, sent_at, attempts = MessageStatus.SENT, "", due_at + timedelta(seconds=20), 1
        row_id = self.messages.new_id()
        done = status != MessageStatus.PENDING
        self.messages.add_with_id(
            row_id, kind, patient, subject_ref, dedupe_key, due_at, status, attempts, error,
            due_at if done and attempts else None, due_at + timedelta(seconds=5) if done and attempts else None,
            sent_at, f"<m{row_id}.{row_id}@clinic.example>" if sent_at else "", email if sent_at else "",
            min(due_at, self.now), sent_at or cancelled_at or min(due_at, self.now),
        )  # fmt: skip

    def appointments_and_messages(self) -> None:
        rng = self.rng
        appointments = Table(
            Appointment,
            [
                "patient", "practitioner", "room", "appointment_type", "starts_at", "ends_at", "blocked_until",
                "status", "cancel_reason", "cancelled_at", "notes", "booked_by", "plan", "plan_session_number",
                "created_at", "updated_at",
            ],
        )  # fmt: skip
        changes = Table(
            AppointmentChange,
            [
                "appointment", "action", "changed_at", "changed_by", "from_status", "to_status", "old_starts_at",
                "new_starts_at", "old_practitioner", "new_practitioner", "reason",
            ],
        )  # fmt: skip
        reminder_lead = timedelta(hours=settings.APPOINTMENT_REMINDER_HOURS)
        receptionists = [user.pk for user in self.receptionists]
        for slot in self.slots:
            if slot.patient is None:
                slot.patient = self.pick_patient(slot.day)
                if slot.patient is None:
                    continue
            slot.id = appointments.new_id()
        for slot in self.slots:
            if slot.id is None:
                continue
            appointment_type = self.types[slot.kind]
            ends_at = slot.starts_at + appointment_type.duration
            blocked_until = ends_at + appointment_type.buffer
            past = slot.starts_at < self.now
            if slot.created_at is None:
                lead = timedelta(days=rng.uniform(0.5, 28))
                slot.created_at = min(slot.starts_at - lead, self.now - timedelta(minutes=rng.randint(5, 600)))
            if slot.status is None:
                draw = rng.random()
                if past and self.now < ends_at:
                    slot.status = Status.ARRIVED  # in the treatment room right now
                elif past:
                    slot.status = (
                        Status.COMPLETED if draw < 0.85 else Status.NO_SHOW if draw < 0.91 else Status.CANCELLED
                    )
                else:
                    slot.status = (
                        Status.BOOKED if draw < 0.55 else Status.CONFIRMED if draw < 0.95 else Status.CANCELLED
                    )
                if slot.status == Status.CANCELLED:
                    latest = min(slot.starts_at, self.now)
                    slot.cancelled_at = slot.created_at + (latest - slot.created_at) * rng.uniform(0.3, 0.95)
            booked_by = (
                self.doctors[slot.practitioner].pk
                if slot.plan is not None
                else receptionists[slot.id % len(receptionists)]
            )
            updated = slot.cancelled_at or (ends_at if past else slot.created_at)
            appointments.add_with_id(
                slot.id, slot.patient, self.practitioners[slot.practitioner].pk,
                self.practitioners[slot.practitioner].default_room_id, appointment_type.pk, slot.starts_at, ends_at,
                blocked_until, slot.status,
                "The patient asked to cancel" if slot.status == Status.CANCELLED else "", slot.cancelled_at, "",
                booked_by, slot.plan, slot.session, slot.created_at, updated,
            )  # fmt: skip
            changes.add(
                slot.id, AppointmentChange.Action.BOOKED, slot.created_at, booked_by, "", Status.BOOKED, None,
                slot.starts_at, None, self.practitioners[slot.practitioner].pk, "",
            )  # fmt: skip
            if slot.status == Status.CANCELLED:
                changes.add(
                    slot.id, AppointmentChange.Action.CANCELLED, slot.cancelled_at, booked_by, Status.BOOKED,
                    Status.CANCELLED, None, None, None, None, "The patient asked to cancel",
                )  # fmt: skip
            elif slot.status != Status.BOOKED:
                changed_at = ends_at if past else slot.created_at + (slot.starts_at - slot.created_at) / 2
                if slot.status == Status.ARRIVED:
                    changed_at = slot.starts_at - timedelta(minutes=5)
                changes.add(
                    slot.id, AppointmentChange.Action.STATUS, min(changed_at, self.now),
                    self.doctors[slot.practitioner].pk if past else None, Status.BOOKED, slot.status, None, None,
                    None, None, "",
                )  # fmt: skip
            # The same keys as scheduling's services write.
            appointment = Appointment(pk=slot.id, starts_at=slot.starts_at)
            ref = appointment.subject_ref
            self.message(Kind.BOOKING_CONFIRMATION, slot.patient, ref, confirmation_key(appointment), slot.created_at)
            if slot.starts_at - slot.created_at > reminder_lead:
                key = reminder_key(appointment)
                self.message(
                    Kind.APPOINTMENT_REMINDER, slot.patient, ref, key, slot.starts_at - reminder_lead,
                    cancelled_at=slot.cancelled_at,
                )  # fmt: skip
            if slot.status == Status.NO_SHOW:
                self.message(
                    Kind.NO_SHOW_FOLLOW_UP,
                    slot.patient,
                    ref,
                    message_key(appointment, Kind.NO_SHOW_FOLLOW_UP),
                    ends_at + timedelta(minutes=15),
                )
        # Next-session reminders: the day after a completed course session, at 10:00.
        for booked in self.plan_sessions:
            for current, following in itertools.pairwise(booked):
                if current.status != Status.COMPLETED or following.status == Status.CANCELLED:
                    continue
                due_at = self.at(current.day + timedelta(days=1), time(10))
                if following.starts_at - due_at <= reminder_lead:
                    continue
                appointment = Appointment(pk=following.id)
                self.message(
                    Kind.NEXT_SESSION_REMINDER, following.patient, appointment.subject_ref,
                    message_key(appointment, Kind.NEXT_SESSION_REMINDER), due_at,
                )  # fmt: skip
        for session_id, patient, signed in self.aftercare:
            due_at = max(self.at(self.local_day(signed), AFTERCARE_AT), signed)
            ref = session_ref(session_id)
            self.message(Kind.AFTERCARE, patient, ref, treatment_message_key(ref, Kind.AFTERCARE), due_at)
        for plan_id, patient, completed_at, due_on in self.course_done:
            ref = plan_ref(plan_id)
            self.message(
                Kind.COURSE_COMPLETED, patient, ref, treatment_message_key(ref, Kind.COURSE_COMPLETED), completed_at
            )
            self.message(
                Kind.MAINTENANCE_RECALL, patient, ref, treatment_message_key(ref, Kind.MAINTENANCE_RECALL),
                self.at(due_on, RECALL_AT),
            )  # fmt: skip
        self.flush(appointments, changes, self.messages)


def generate(sizes: Sizes, *, log, allow_existing_data: bool = False) -> dict[str, int]:
    """Build the clinic in one transaction. Raises ValueError (with the reason) when the
    database holds data the generator did not make and ``allow_existing_data`` is false."""
    with transaction.atomic():
        foreign = foreign_data()
        if foreign and not allow_existing_data:
            raise ValueError(
                f"This database holds data that seed_large did not generate ({', '.join(foreign)}). "
                "Point DATABASE_URL at an empty database (e.g. .../clinic_large), or pass "
                "--allow-existing-data to add the generated clinic beside that data."
            )
        if has_generated_data():
            if foreign:
                raise ValueError(
                    "This database holds a generated clinic and other data: the generated one cannot be "
                    "replaced without touching the rest. Use an empty database."
                )
            log("  Replacing the clinic generated earlier.")
            wipe_generated()
        counts = Generator(sizes, log=log).run()
    if not connection.in_atomic_block:
        # Outside a transaction (not in tests): VACUUM too, so that the visibility map is set
        # and index-only scans work from the first query on.
        started = clock.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
        log(f"  VACUUM ANALYZE: {clock.monotonic() - started:.1f} s")
    return counts


def summary(counts: dict[str, int]) -> Iterable[str]:
    for label, count in counts.items():
        yield f"  {label:<32} {count:>9,}"
