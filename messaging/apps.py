from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    label = "messaging"
    verbose_name = "Patient emails"

    def ready(self) -> None:
        # Tells patients/erasure.py what to do with a patient's emails.
        from messaging import erasure  # noqa: F401
