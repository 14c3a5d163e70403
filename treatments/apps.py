from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "treatments"

    def ready(self) -> None:
        # Registers the builders of the emails this app owns with the outbox.
        from treatments import emails  # noqa: F401
