import hashlib
from functools import partial

from django.conf import settings

from clinic import roles


def clinic(request):
    user = getattr(request, "user", None)
    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_email": settings.CLINIC_EMAIL,
        # In alphabetical order: the same words in the same order on every page.
        "user_roles": sorted(roles.roles_of(user)) if user is not None and user.is_authenticated else [],
        # Called only by a page that shows the menu (base.html).
        "nav_key": partial(nav_key, user),
    }


def nav_key(user) -> str:
    """What base.html's menu depends on, as a key for the kept menu: the permissions (every
    entry is shown by one), staff and superuser status, the name and the roles shown. Nothing
    of it is secret in the key: a digest stands for it all."""
    if user is None or not user.is_authenticated:
        return "anonymous"
    facts = [
        "superuser" if user.is_superuser else "",
        "staff" if user.is_staff else "",
        user.get_full_name(),
        user.get_username(),
        *sorted(roles.roles_of(user)),
        "",
        *sorted(user.get_all_permissions()),
    ]
    return hashlib.sha256("\n".join(facts).encode()).hexdigest()
