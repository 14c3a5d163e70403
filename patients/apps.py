from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"

    def ready(self) -> None:
        # Registers this app's clinical records for retention and erasure.
        from patients import erasure  # noqa: F401
