from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Registers the builders of the appointment emails with the outbox.
        from scheduling import emails  # noqa: F401
