from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from clinic import signals

        user_logged_in.connect(signals.record_login, dispatch_uid="clinic.audit.login")
        user_login_failed.connect(signals.record_login_failed, dispatch_uid="clinic.audit.login_failed")
        user_logged_out.connect(signals.record_logout, dispatch_uid="clinic.audit.logout")

        from clinic.accounts import lockout  # noqa: F401 - connects the lockout receiver
        from clinic.middleware import stamp_activity_on_login

        user_logged_in.connect(stamp_activity_on_login, dispatch_uid="clinic.stamp_activity_on_login")
