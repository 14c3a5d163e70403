import factory

from intake.models import IntakeQuestionnaire
from intake.services import questionnaire_submit
from tests.factories import PatientFactory

# What a patient sends: latex allergy, blood thinner (warfarin), not pregnant, daily sunscreen.
ANSWERS = {
    "allergy__latex": True,
    "allergy__latex__details": "Rash from rubber gloves",
    "medication__anticoagulant": True,
    "medication__anticoagulant__details": "Warfarin 5 mg daily",
    "pregnancy": "no",
    "sunscreen_use": "daily",
    "cleanser": "Gentle foam",
}


class IntakeQuestionnaireFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IntakeQuestionnaire

    patient = factory.SubFactory(PatientFactory)
    requested_for = factory.Sequence(lambda n: f"appointment:{100000 + n}")


class SubmittedQuestionnaireFactory(IntakeQuestionnaireFactory):
    """Sent by the patient with ANSWERS (or ``answers``): four answers to review."""

    class Meta:
        skip_postgeneration_save = True

    @factory.post_generation
    def answers(self, create, extracted, **kwargs):
        if create:
            questionnaire_submit(questionnaire=self, answers=extracted or ANSWERS)
            self.refresh_from_db()
