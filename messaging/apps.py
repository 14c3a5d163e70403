from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    label = "messaging"
    verbose_name = "Patient emails"

    def ready(self) -> None:
        # Tells patients/erasure.py what to do with a patient's emails.
        from clinic import health
        from messaging import erasure  # noqa: F401
        from messaging.health import outbox

        health.register(outbox)
