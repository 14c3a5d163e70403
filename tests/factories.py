"""Factories for the test suite. Each builds a valid object with the fewest queries."""

from __future__ import annotations

import datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic import roles
from devdata.demo.patients import drawn_signature_png
from patients.models import ConsentDocument, ConsentRecord, HistoryItem, Patient, SkinProfile, consent_signature_hash

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@clinic.example")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        _join(self, create, extracted)


def _join(user, create: bool, role: str | None) -> None:
    if create:
        user.save()
        if role:
            user.groups.add(Group.objects.get(name=role))


class DoctorFactory(UserFactory):
    username = factory.Sequence(lambda n: f"doctor{n}")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        _join(self, create, extracted or roles.DOCTOR)


class ReceptionistFactory(UserFactory):
    username = factory.Sequence(lambda n: f"reception{n}")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        _join(self, create, extracted or roles.RECEPTIONIST)


class ManagerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"manager{n}")
    is_staff = True

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        _join(self, create, extracted or roles.MANAGER)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    first_name = factory.Faker("first_name_female")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=20, maximum_age=70)
    sex = Patient.Sex.FEMALE
    phone = factory.Sequence(lambda n: f"+4479111{n % 100000:05d}")
    email = factory.LazyAttributeSequence(lambda p, n: f"{p.first_name.lower()}.{n}@example.com")
    reminder_emails_consent = True
    reminder_emails_consent_changed_at = factory.LazyFunction(timezone.now)


class HistoryItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HistoryItem

    patient = factory.SubFactory(PatientFactory)
    recorded_by = factory.SubFactory(DoctorFactory)
    category = HistoryItem.Category.ALLERGY
    code = HistoryItem.Code.LOCAL_ANAESTHETIC
    name = "Lidocaine"
    status = HistoryItem.Status.CURRENT


class SkinProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SkinProfile

    patient = factory.SubFactory(PatientFactory)
    recorded_by = factory.SubFactory(DoctorFactory)
    fitzpatrick_type = SkinProfile.Fitzpatrick.III
    concerns = factory.LazyFunction(lambda: [SkinProfile.Concern.DEHYDRATION])
    pregnancy = SkinProfile.Pregnancy.NO


class ConsentRecordFactory(factory.django.DjangoModelFactory):
    """A consent signed by the patient on the tablet (drawn signature, typed name, hash) to
    the current text of ``procedure`` (mesotherapy unless told)."""

    class Meta:
        model = ConsentRecord

    class Params:
        procedure = ConsentDocument.Procedure.MESOTHERAPY

    patient = factory.SubFactory(PatientFactory)
    document = factory.LazyAttribute(lambda record: ConsentDocument.objects.current().get(procedure=record.procedure))
    given_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))
    witnessed_by = factory.SubFactory(DoctorFactory)
    recorded_by = factory.SelfAttribute("witnessed_by")
    signature_png = factory.LazyFunction(drawn_signature_png)
    signed_name = factory.LazyAttribute(lambda record: record.patient.full_name)
    signed_at = factory.SelfAttribute("given_at")
    signature_sha256 = factory.LazyAttribute(
        lambda record: consent_signature_hash(
            document=record.document,
            patient_id=record.patient.pk,
            signed_name=record.signed_name,
            signed_at=record.signed_at,
            signature_png=record.signature_png,
        )
    )


def authenticator_for(user):
    """The user's confirmed authenticator (TOTP) device, made if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def totp_code(device) -> str:
    """The code the authenticator app shows now for ``device``."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def mark_second_factor_verified(client, user) -> None:
    """Record in ``client``'s session that it passed the second factor, as django_otp.login does."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = authenticator_for(user).persistent_id
    session.save()
