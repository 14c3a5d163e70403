import factory
from django.utils import timezone

from messaging.models import ScheduledMessage
from tests.factories import PatientFactory


class ScheduledMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScheduledMessage

    kind = ScheduledMessage.Kind.AFTERCARE
    patient = factory.SubFactory(PatientFactory)
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")
    due_at = factory.LazyFunction(timezone.now)
