from django.conf import settings

from clinic import roles


def clinic(request):
    user = getattr(request, "user", None)
    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_email": settings.CLINIC_EMAIL,
        "user_roles": roles.roles_of(user) if user is not None and user.is_authenticated else frozenset(),
    }
