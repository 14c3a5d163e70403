"""Staff roles. A role is a Django group; what it may do is the permissions it is granted.

Views never test group names: they ask for permissions through the access helpers. Each
app grants the roles its permissions in a data migration (clinic.migration_helpers); the
permission matrix in README.md says who may do what.
"""

from __future__ import annotations

DOCTOR = "Doctor"
RECEPTIONIST = "Receptionist"
MANAGER = "Manager"
ALL_ROLES = (DOCTOR, RECEPTIONIST, MANAGER)


def roles_of(user) -> frozenset[str]:
    """The role names of ``user``, cached on the user object for the request."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_clinic_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._clinic_roles = cached
    return cached
