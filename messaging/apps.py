from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    label = "messaging"
    verbose_name = "Patient emails"

    def ready(self) -> None:
        from clinic import health
        from messaging.health import outbox

        health.register(outbox)
