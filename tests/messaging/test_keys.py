"""Outbox subject refs and dedupe keys keep the formats of the rows already stored."""

import datetime

import pytest

from messaging import keys
from scheduling.models import Appointment
from treatments.models import TreatmentPlan, TreatmentSession

STARTS_AT = datetime.datetime(2030, 1, 7, 12, 30, tzinfo=datetime.UTC)


def test_each_app_refers_to_its_records_as_before():
    assert Appointment(pk=12).subject_ref == "appointment:12"
    assert TreatmentPlan(pk=3).subject_ref == "plan:3"
    assert TreatmentSession(pk=9).subject_ref == "session:9"


def test_dedupe_keys_are_the_ref_and_the_kind_and_may_carry_the_start():
    assert keys.message_key("plan:3", "course_completed") == "plan:3:course_completed"
    assert (
        keys.message_key("appointment:12", "appointment_reminder", starts_at=STARTS_AT)
        == "appointment:12:appointment_reminder:1894019400"
    )


def test_a_key_gives_back_the_start_it_was_made_for():
    key = keys.message_key("appointment:12", "booking_confirmation", starts_at=STARTS_AT)
    assert keys.key_start(key) == keys.start_stamp(STARTS_AT) == int(STARTS_AT.timestamp())
    assert keys.key_start("appointment:12:booking_confirmation") is None
    assert keys.key_start("appointment:12:booking_confirmation:soon") is None


@pytest.mark.parametrize(
    ("ref", "subject", "expected"),
    [
        ("appointment:12", "appointment", 12),
        ("plan:3", "plan", 3),
        ("plan:3", "session", None),  # about something else
        ("plan:", "plan", None),
        ("plan:x3", "plan", None),
        ("", "plan", None),  # a message about no particular record
    ],
)
def test_a_ref_gives_back_its_id_only_for_its_subject(ref, subject, expected):
    assert keys.ref_id(ref, subject) == expected


def test_a_message_to_each_patient_about_one_subject_has_a_key_per_patient():
    key = keys.patient_message_key(keys.subject_ref("batch", 3), "lot_recall_notice", 42)
    assert key == "batch:3:lot_recall_notice:patient:42"
    assert keys.patient_message_key("batch:3", "lot_recall_notice", 43) != key
    assert keys.key_start(key) is None  # never read as an appointment's start
