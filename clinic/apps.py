from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from clinic.middleware import stamp_activity_on_login

        user_logged_in.connect(stamp_activity_on_login, dispatch_uid="clinic.stamp_activity_on_login")
