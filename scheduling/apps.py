from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Registers the builders of the appointment emails with the outbox, and keeps an erased
        # patient's appointments in the calendar's history (patients/erasure.py).
        from scheduling import emails, erasure  # noqa: F401
        from scheduling.services import plan_appointments_cancel
        from scheduling.waitlist import emails as waitlist_emails  # noqa: F401
        from treatments.hooks import on_plan_cancelled

        # A cancelled plan's booked sessions are cancelled with it (see treatments.hooks).
        on_plan_cancelled(plan_appointments_cancel)
