from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Registers the builders of the appointment emails with the outbox.
        from scheduling import emails  # noqa: F401
        from scheduling.waitlist import emails as waitlist_emails  # noqa: F401
