import pytest
from django.template import Context, Template

from tests.treatments.factories import ActivePlanFactory, SignedSessionFactory
from treatments import selectors
from treatments.models import OutcomeRating


def test_face_diagram_marks_the_chosen_areas():
    html = Template('{% load treatment_tags %}{% face_diagram areas "areas" %}').render(
        Context({"areas": ["forehead", "chin"]})
    )
    assert 'data-face-diagram="areas" hidden' in html
    assert 'class="face-area is-selected" data-area="forehead"' in html
    assert 'class="face-area" data-area="nose"' in html
    assert 'aria-label="Face diagram of the chosen areas: Chin, Forehead"' in html


def test_static_face_diagram_is_not_interactive():
    html = Template("{% load treatment_tags %}{% face_diagram areas %}").render(Context({"areas": []}))
    assert "data-face-diagram" not in html
    assert "chosen areas: none" in html


@pytest.mark.django_db
def test_outcomes_chart_places_scores_on_the_grid(doctor):
    plan = ActivePlanFactory(session_count=4)
    sessions = []
    for number, score in ((1, 1), (4, 5)):
        session = SignedSessionFactory(plan=plan, number=number)
        OutcomeRating.objects.create(
            session=session, rater="patient", hydration=score, radiance=3, fine_lines=3, satisfaction=3,
            recorded_by=doctor,
        )  # fmt: skip
        sessions.append(session)
    chart = selectors.outcomes_chart(plan, selectors.plan_page_sessions(plan))
    # Small multiples: one chart per measure, each with the doctor's and the patient's series.
    assert [measure.key for measure in chart["charts"]] == ["hydration", "radiance", "fine_lines", "satisfaction"]
    hydration = chart["charts"][0]
    doctor_series, patient_series = hydration.series
    assert (doctor_series.rater, doctor_series.points) == ("doctor", [])
    first, last = patient_series.points
    assert (first.number, first.score, last.number, last.score) == (1, 1, 4, 5)
    assert (first.x, last.x) == (chart["left"], chart["right"])
    assert (first.y, last.y) == (chart["bottom"], chart["top"])
    assert hydration.rows == [
        {"number": 1, "doctor": None, "patient": 1},
        {"number": 4, "doctor": None, "patient": 5},
    ]
