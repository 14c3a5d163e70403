from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Registers the builders of the appointment emails with the outbox, and keeps an erased
        # patient's appointments in the calendar's history (patients/erasure.py).
        from scheduling import emails, erasure  # noqa: F401
