"""Password rules of our own, beside Django's (length, common, numeric, like the username)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

# Long enough for any password manager or passphrase; a longer one is a paste gone wrong or a
# request built to make the server hash megabytes.
PASSWORD_MAX = 128


class MaximumLengthValidator:
    def __init__(self, max_length: int = PASSWORD_MAX):
        self.max_length = max_length

    def validate(self, password, user=None):
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long: at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self):
        return f"Your password can be at most {self.max_length} characters."
