from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "treatments"

    def ready(self) -> None:
        # Registers the builders of the emails this app owns with the outbox, and its clinical
        # records for retention and erasure (patients/erasure.py).
        from treatments import emails, erasure  # noqa: F401
