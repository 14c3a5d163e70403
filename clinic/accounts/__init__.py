"""Staff accounts: managed in the application (invite, roles, deactivate, unlock, reset the
second factor), a one-time link to set one's own password, two-factor authentication
(django-otp) and the login lockout (django-axes)."""
