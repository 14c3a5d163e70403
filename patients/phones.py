"""Phone numbers: validated and stored in E.164 with the phonenumbers library."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return ``raw`` in E.164, or raise ValidationError saying what is wrong."""
    region = region or settings.CLINIC_PHONE_REGION
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            "Enter a valid phone number, e.g. 07911 123456 or +44 7911 123456.", code="invalid_phone"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            "This is not a valid phone number: check the number of digits and the country code.",
            code="invalid_phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_phone(raw: str) -> str | None:
    try:
        return normalize_phone(raw)
    except ValidationError:
        return None


def format_phone(e164: str) -> str:
    """A stored number as people read it: national format at home, international abroad."""
    if not e164:
        return ""
    return _formatted(e164, settings.CLINIC_PHONE_REGION)


# Parsing a number costs about 0.1 ms and a list page shows dozens: the answer depends only on
# the number and the clinic's region, so it is remembered (a few thousand numbers, a few hundred KB).
@lru_cache(maxsize=4096)
def _formatted(e164: str, home_region: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    home = phonenumbers.region_code_for_number(number) == home_region
    style = phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)
