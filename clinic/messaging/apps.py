from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "clinic.messaging"
    label = "messaging"
    verbose_name = "Patient emails"
