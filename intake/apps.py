from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = "Patient intake questionnaire"

    def ready(self) -> None:
        from intake import emails  # noqa: F401 - registers the questionnaire email with the outbox
