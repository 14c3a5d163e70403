from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = "Patient intake questionnaire"

    def ready(self) -> None:
        # Tells patients/erasure.py what to do with a patient's questionnaires.
        from intake import erasure  # noqa: F401
