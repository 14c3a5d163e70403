from django import template

from patients.phones import format_phone

register = template.Library()


@register.filter
def phone(value: str) -> str:
    return format_phone(value)
