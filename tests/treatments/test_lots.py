"""The doctor's day around batches: sessions pre-filled from the plan's cocktail with the
first-expiring usable batch, the confirmation before signing, batch recall and traceability
("who got lot X"), recall notices, stock alerts; and the outcome chart and photo comparison."""

from __future__ import annotations

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry
from messaging import keys
from messaging.models import ScheduledMessage
from messaging.services import message_deliver
from tests.factories import PatientFactory, SkinProfileFactory
from tests.treatments.factories import (
    ActivePlanFactory,
    BatchFactory,
    ProductFactory,
    SignedSessionFactory,
    TreatmentSessionFactory,
)
from treatments import selectors
from treatments.models import Batch, OutcomeRating, Photo

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"treatments:{name}", args=args)


def selected_option(page: str, field: str) -> str | None:
    select = re.search(rf'<select name="{field}".*?</select>', page, re.S).group(0)
    match = re.search(r'<option value="(\d+)" selected', select)
    return match.group(1) if match else None


def options(page: str, field: str) -> set[str]:
    select = re.search(rf'<select name="{field}".*?</select>', page, re.S).group(0)
    return set(re.findall(r'<option value="(\d+)"', select))


# Session pre-filled from the plan ------------------------------------------------------


def test_session_form_offers_only_usable_batches_of_each_cocktail_product_first_expiring_chosen(doctor_client):
    hydra, peptide = ProductFactory(name="Hydra"), ProductFactory(name="Peptide")
    plan = ActivePlanFactory(products=[hydra, peptide], areas=["forehead", "chin"], technique="meso_pen")
    SkinProfileFactory(patient=plan.patient)
    today = timezone.localdate()
    later = BatchFactory(product=hydra, lot_number="H-LATER", expiry_date=today + datetime.timedelta(days=300))
    sooner = BatchFactory(product=hydra, lot_number="H-SOON", expiry_date=today + datetime.timedelta(days=40))
    expired = BatchFactory(product=hydra, lot_number="H-OLD", expiry_date=today - datetime.timedelta(days=1))
    recalled = BatchFactory(product=hydra, lot_number="H-RECALL", recalled_at=timezone.now(), recall_reason="x")
    too_little = BatchFactory(product=hydra, lot_number="H-LOW", quantity_in_stock=Decimal("1.50"))  # 2 ml planned
    other = BatchFactory(product=peptide, lot_number="P-1")

    page = doctor_client.get(url("session_create", plan.patient.pk, plan.pk)).content.decode()

    assert options(page, "batch_1") == {str(sooner.pk), str(later.pk)}
    assert selected_option(page, "batch_1") == str(sooner.pk)
    assert options(page, "batch_2") == {str(other.pk)}
    assert selected_option(page, "batch_2") == str(other.pk)
    assert 'name="batch_amount_1" value="2.00"' in page
    assert "Batch of Hydra" in page
    assert "Amount of Peptide (ml)" in page
    for unusable in (expired, recalled):
        assert str(unusable.pk) not in options(page, "batch_3")  # not even in the other-batch row
    assert str(too_little.pk) in options(page, "batch_3")  # a split over two batches stays possible
    assert re.search(r'value="meso_pen"[^>]*selected', page)
    assert re.search(r'value="forehead"[^>]*checked', page)
    assert re.search(r'value="chin"[^>]*checked', page)


def test_a_product_without_a_usable_batch_says_so(doctor_client):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    page = doctor_client.get(url("session_create", plan.patient.pk, plan.pk)).content.decode()
    assert "No usable batch of" in page
    assert options(page, "batch_1") == set()


def test_pre_filled_session_is_saved_and_signed_with_the_first_expiring_batch(doctor_client):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    product = plan.plan_products.get().product
    today = timezone.localdate()
    first = BatchFactory(product=product, expiry_date=today + datetime.timedelta(days=20))
    BatchFactory(product=product, expiry_date=today + datetime.timedelta(days=200))
    page = doctor_client.get(url("session_create", plan.patient.pk, plan.pk)).content.decode()
    now = timezone.localtime().replace(second=0, microsecond=0)
    data = {
        "performed_at": now.strftime("%Y-%m-%dT%H:%M"),
        "technique": plan.technique,
        "areas": plan.areas,
        "batch_1": selected_option(page, "batch_1"),
        "batch_amount_1": "2.00",
    }
    response = doctor_client.post(url("session_create", plan.patient.pk, plan.pk), data)
    session = plan.sessions.get()
    assert response.status_code == 302
    assert [(usage.batch, usage.amount) for usage in session.batch_usages.all()] == [(first, Decimal("2.00"))]
    sign = url("session_sign", plan.patient.pk, session.pk)
    assert doctor_client.post(sign).status_code == 200
    assert doctor_client.post(sign, {"confirmed": "on"}).status_code == 302
    first.refresh_from_db()
    assert first.quantity_in_stock == Decimal("23.00")


def test_the_signing_confirmation_refuses_what_signing_would_refuse_and_writes_nothing(doctor_client, doctor):
    plan = ActivePlanFactory(doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    batch = BatchFactory(quantity_in_stock=Decimal("5"))
    session = TreatmentSessionFactory(plan=plan, number=1, doctor=doctor)
    session.batch_usages.create(batch=batch, amount=Decimal("2"))
    Batch.objects.filter(pk=batch.pk).update(recalled_at=timezone.now(), recall_reason="Sterility")
    response = doctor_client.post(url("session_sign", plan.patient.pk, session.pk))
    page = response.content.decode()
    assert response.status_code == 400
    refusal = page[page.index("data-refusal") : page.index("Sign and lock this session")]
    assert f"lot {batch.lot_number} has been recalled and cannot be used" in refusal
    assert "Recalled batch:" in page  # the session page flags it too
    session.refresh_from_db()
    assert not session.is_signed


def test_ratings_are_labelled_radio_buttons(doctor_client):
    session = SignedSessionFactory()
    page = doctor_client.get(session.get_absolute_url()).content.decode()
    for score in ("hydration", "radiance", "fine_lines", "satisfaction"):
        assert len(re.findall(rf'type="radio"[^>]*name="{score}"', page)) == 5
    assert "1 poor" in page
    assert "5 excellent" in page
    assert 'type="number"' not in page.split("ratings-heading")[1].split("</section>")[0]


def test_a_field_error_is_summarised_at_the_top_with_a_link_to_the_field(doctor_client):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    response = doctor_client.post(url("session_create", plan.patient.pk, plan.pk), {"technique": "needle_syringe"})
    page = response.content.decode()
    summary = page[page.index("data-refusal") : page.index("</div>", page.index("data-refusal"))]
    assert '<a class="alert-link" href="#id_performed_at">Session time</a>' in summary
    assert "Facial areas" in summary


# Outcome chart and photos ------------------------------------------------------------


def test_outcome_chart_is_one_small_chart_per_measure_in_two_styles_without_inline_style(doctor_client, doctor):
    plan = ActivePlanFactory()
    for number in (1, 2):
        session = SignedSessionFactory(plan=plan, number=number)
        for rater, score in (("doctor", 4), ("patient", 2)):
            OutcomeRating.objects.create(
                session=session, rater=rater, hydration=score, radiance=3, fine_lines=3, satisfaction=5,
                recorded_by=doctor,
            )  # fmt: skip
    page = doctor_client.get(plan.get_absolute_url()).content.decode()
    chart = page[page.index("outcomes-heading") : page.index("</section>", page.index("outcomes-heading"))]
    assert chart.count('<svg class="outcomes-chart"') == 4
    assert chart.count('<polyline class="series-doctor"') == 4
    assert chart.count('<polyline class="series-patient"') == 4
    multiples = chart.split('class="outcomes-multiples"')[1]
    assert multiples.count('<rect class="marker-patient"') == 8  # the patient's points are squares
    assert "Hydration (patient), session 2: 2/5" in chart
    assert "style=" not in chart
    assert "stroke=" not in chart


def _photo(session, kind, view):
    return Photo.objects.create(
        patient=session.patient, session=session, kind=kind, view=view, path=f"p/{session.pk}-{kind}-{view}.png",
        content_type="image/png", width=10, height=10, size_bytes=10, uploaded_by=session.doctor,
    )  # fmt: skip


def test_photo_comparison_puts_before_left_and_after_of_the_same_view_right(doctor_client):
    plan = ActivePlanFactory()
    first, last = SignedSessionFactory(plan=plan, number=1), SignedSessionFactory(plan=plan, number=2)
    before_front = _photo(first, "before", "front")
    _photo(first, "before", "left profile")
    after_front = _photo(last, "after", "Front")
    _photo(last, "after", "left profile")
    page = doctor_client.get(url("photo_compare", plan.patient.pk, plan.pk)).content.decode()
    figures = re.findall(r'<figure class="col-6"><img src="[^"]*/photos/(\d+)/"', page)
    assert figures == [str(before_front.pk), str(after_front.pk)]
    assert "Different views" not in page
    assert "Before (left)" in page
    assert "After (right)" in page


# Recall and traceability -------------------------------------------------------------


def _given(batch, patient=None, *, amount="1.50", number=1, days_ago=10, signed=True):
    factory = SignedSessionFactory if signed else TreatmentSessionFactory
    kwargs = {"plan__patient": patient, "plan__consultation__patient": patient} if patient else {}
    session = factory(number=number, performed_at=timezone.now() - datetime.timedelta(days=days_ago), **kwargs)
    session.batch_usages.create(batch=batch, amount=Decimal(amount))
    return session


def _patients_by_sql(batch) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT s.patient_id FROM treatments_batchusage u "
            "JOIN treatments_treatmentsession s ON s.id = u.session_id WHERE u.batch_id = %s",
            [batch.pk],
        )
        return {row[0] for row in cursor.fetchall()}


def test_recall_lists_exactly_who_got_the_lot_and_queues_one_notice_each(manager_client, manager):
    batch = BatchFactory(lot_number="RX-2026-7")
    neighbour = BatchFactory(product=batch.product, lot_number="RX-2026-8")
    twice = PatientFactory(email="twice@example.org")
    first = _given(batch, twice, days_ago=20)
    _given(batch, days_ago=5, amount="2.00")
    _given(batch, signed=False, days_ago=0)  # a draft is traced too: the patient had it
    second_of_twice = _given(batch, twice, number=2, days_ago=13)
    _given(neighbour)  # another lot of the same product: not listed
    page = manager_client.get(url("batch_recall", batch.pk)).content.decode()
    assert "3 patients</strong> received lot RX-2026-7 in 4 sessions" in page

    response = manager_client.post(
        url("batch_recall", batch.pk),
        {"reason": "Manufacturer notice 2026/14: sterility not assured", "recalled_on": timezone.localdate()},
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert (batch.is_recalled, batch.recalled_by) == (True, manager)
    page = manager_client.get(batch.get_absolute_url()).content.decode()
    listed = {int(pk) for pk in re.findall(r'href="/patients/(\d+)/"', page)}
    assert listed == _patients_by_sql(batch)
    assert len(listed) == 3
    assert first.patient_id in listed
    assert "Send the recall notice" in page

    response = manager_client.post(url("batch_recall_notify", batch.pk), {"confirm": "on"}, follow=True)
    assert "queued for 3 patients" in response.content.decode()
    notices = ScheduledMessage.objects.filter(kind="lot_recall_notice")
    assert sorted(notices.values_list("patient_id", flat=True)) == sorted(_patients_by_sql(batch))
    assert notices.get(patient=twice).dedupe_key == keys.patient_message_key(
        batch.subject_ref, "lot_recall_notice", twice.pk
    )
    # Asking again queues nothing more: once per patient and lot.
    response = manager_client.post(url("batch_recall_notify", batch.pk), {"confirm": "on"}, follow=True)
    assert "none was queued again" in response.content.decode()
    assert notices.count() == 3

    message = notices.get(patient=twice)
    assert message_deliver(message.pk) == "sent"
    email = mail.outbox[-1]
    assert email.to == ["twice@example.org"]
    assert "has been recalled" in email.subject
    assert f"lot {batch.lot_number}" in email.body
    for session in (first, second_of_twice):
        assert f"{timezone.localtime(session.performed_at):%-d %B %Y}" in email.body


def test_recall_notice_needs_a_confirmation_and_a_recalled_batch(manager_client):
    batch = BatchFactory()
    _given(batch)
    response = manager_client.post(url("batch_recall_notify", batch.pk), {"confirm": "on"})
    assert response.status_code == 400
    assert "Recall the batch before notifying" in response.content.decode()
    Batch.objects.filter(pk=batch.pk).update(recalled_at=timezone.now(), recall_reason="x")
    response = manager_client.post(url("batch_recall_notify", batch.pk), {})
    assert response.status_code == 400
    assert "Tick the box to confirm" in response.content.decode()
    assert not ScheduledMessage.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "", "recalled_on": "2026-01-01"}, "Give the reason for the recall."),
        ({"reason": "Notice", "recalled_on": "2999-01-01"}, "never in the future"),
        ({"reason": "Notice", "recalled_on": "31/31/2026"}, "Give the date as a calendar date."),
    ],
)
def test_recall_with_bad_input_says_why_and_changes_nothing(manager_client, data, message):
    batch = BatchFactory()
    response = manager_client.post(url("batch_recall", batch.pk), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    batch.refresh_from_db()
    assert not batch.is_recalled


def test_an_already_recalled_batch_is_not_recalled_again(manager_client):
    recalled_at = timezone.now() - datetime.timedelta(days=3)
    batch = BatchFactory(recalled_at=recalled_at, recall_reason="First notice")
    response = manager_client.post(url("batch_recall", batch.pk), {"reason": "Again", "recalled_on": "2026-01-01"})
    assert response.status_code == 302
    batch.refresh_from_db()
    assert (batch.recalled_at, batch.recall_reason) == (recalled_at, "First notice")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_patient_and_session_pages_flag_a_recalled_batch(doctor, manager):
    doctor_client, manager_client = _client(doctor), _client(manager)
    batch = BatchFactory(lot_number="FLAG-1")
    session = _given(batch)
    patient_page = reverse("patients:detail", args=[session.patient_id])
    with CaptureQueriesContext(connection) as unflagged:
        assert "Received a recalled batch" not in doctor_client.get(patient_page).content.decode()
    Batch.objects.filter(pk=batch.pk).update(recalled_at=timezone.now(), recall_reason="Particles in vials")
    for client in (doctor_client, manager_client):
        with CaptureQueriesContext(connection) as flagged:
            page = client.get(patient_page).content.decode()
        assert "Received a recalled batch" in page
        assert "lot FLAG-1: 1.50 ml in session 1" in page
        assert "Particles in vials" in page
        if client is doctor_client:
            # The flag's columns come with its one query (none is loaded later, row by row).
            assert len(flagged) == len(unflagged)
    assert "session record" not in manager_client.get(patient_page).content.decode()  # no clinical link
    page = doctor_client.get(session.get_absolute_url()).content.decode()
    assert "Recalled batch:" in page
    assert "Particles in vials" in page


def test_recipients_csv_lists_each_session_and_never_runs_a_formula(manager_client):
    batch = BatchFactory(lot_number="CSV-9")
    patient = PatientFactory(last_name="=HYPERLINK(1)")
    _given(batch, patient, amount="2.50")
    _given(batch)
    response = manager_client.get(url("batch_recipients_csv", batch.pk))
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="lot-csv-9-patients.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["product", "lot", "patient number", "last name"]
    assert len(rows) == 3
    mine = next(row for row in rows[1:] if row[2] == str(patient.pk))
    assert mine[3] == "'=HYPERLINK(1)"
    assert mine[12] == "2.50"
    assert AuditEntry.objects.filter(object_type="lot recipients (CSV)", object_id=str(batch.pk)).count() == 1


def test_lot_search_finds_the_lot_in_any_case_is_audited_and_bounded(doctor_client, django_assert_max_num_queries):
    batch = BatchFactory(lot_number="AbC-123")
    sessions = [_given(batch, days_ago=days) for days in (3, 9, 30)]
    BatchFactory(lot_number="ABC-1234")  # a longer lot number is another lot
    with django_assert_max_num_queries(12):
        response = doctor_client.get(url("lot_search"), {"q": "  abc-123 "})
    page = response.content.decode()
    assert page.count("Session 1") == 3
    for session in sessions:
        assert session.patient.full_name in page
    assert "ABC-1234" not in page
    assert AuditEntry.objects.filter(action="search", object_type="lot search", query="abc-123").count() == 1
    page = doctor_client.get(url("lot_search"), {"q": "NOPE"}).content.decode()
    assert "No batch has the lot number “NOPE”" in page


def test_lot_search_uses_the_lot_number_index():
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN " + str(Batch.objects.filter(lot_number__iexact="X").values("id").query).replace("X", "'X'")
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "batch_lot_upper" in plan


# Stock alerts ------------------------------------------------------------------------


def test_stock_alerts_low_stock_and_expiring_soon(doctor, manager):
    today = timezone.localdate()
    low = ProductFactory(name="Lowstock", low_stock_threshold=Decimal("10"))
    BatchFactory(product=low, quantity_in_stock=Decimal("4"))
    BatchFactory(product=low, quantity_in_stock=Decimal("30"), recalled_at=timezone.now(), recall_reason="x")
    plenty = ProductFactory(name="Plenty", low_stock_threshold=Decimal("10"))
    BatchFactory(product=plenty, quantity_in_stock=Decimal("50"), lot_number="SOON-1",
                 expiry_date=today + datetime.timedelta(days=12))  # fmt: skip
    BatchFactory(product=plenty, quantity_in_stock=Decimal("50"), expiry_date=today + datetime.timedelta(days=90))
    silent = ProductFactory(name="Silent", low_stock_threshold=Decimal("0"))
    alerts = selectors.stock_alerts(today=today)
    low_names = [item.product.name for item in alerts.low_stock]
    assert "Lowstock" in low_names
    assert "Plenty" not in low_names
    assert silent.name not in low_names
    assert [batch.lot_number for batch in alerts.expiring if batch.product == plenty] == ["SOON-1"]
    for client in (_client(doctor), _client(manager)):
        for page in (client.get(reverse("home")), client.get(url("formulary"))):
            body = page.content.decode()
            assert "Stock alerts" in body
            assert "Lowstock: 4.00 ml usable, below the threshold of 10.00 ml" in body
            assert "Plenty lot SOON-1: expires" in body


def test_receptionist_home_has_no_stock_alerts(receptionist_client):
    ProductFactory(low_stock_threshold=Decimal("10"))
    assert "Stock alerts" not in receptionist_client.get(reverse("home")).content.decode()


def test_a_lot_given_to_many_shows_the_counts_and_the_latest_only(doctor_client, manager_client, monkeypatch):
    monkeypatch.setattr(selectors, "RECIPIENTS_IN_SEARCH", 2)
    monkeypatch.setattr(selectors, "RECIPIENTS_PER_PAGE", 2)
    batch = BatchFactory(lot_number="MANY-1")
    sessions = [_given(batch, days_ago=days) for days in (1, 2, 3)]
    page = doctor_client.get(url("lot_search"), {"q": "MANY-1"}).content.decode()
    assert "3 sessions</strong> used this lot" in page
    assert sessions[0].patient.full_name in page
    assert sessions[2].patient.full_name not in page  # the oldest is beyond the latest two
    assert "The 2 most recent are shown" in page
    page = manager_client.get(batch.get_absolute_url(), {"page": "2"}).content.decode()
    assert "sessions 3 to 3 below" in page
    assert sessions[0].patient.full_name in page  # oldest first: the newest is on the last page
    assert manager_client.get(batch.get_absolute_url(), {"page": "x"}).status_code == 200


def test_the_admin_shows_a_recall_but_does_not_make_one(manager):
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    client = _client(manager)
    batch = BatchFactory()
    page = client.get(reverse("admin:treatments_batch_change", args=[batch.pk])).content.decode()
    assert 'name="lot_number"' in page
    assert 'name="recall_reason"' not in page
    assert 'name="recalled_at' not in page
