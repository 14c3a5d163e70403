"""Django's model backend, with a staff member, their permissions, roles and confirmed
second-factor devices read in one statement.

Every signed-in request loads the user (AuthenticationMiddleware), asks whether the session
passed the second factor (django_otp's middleware, one query for the device) and asks for
the permissions (the menu, the checks) and the role names (the context processor). Django
spends a query on each, four in all, and about a millisecond compiling them. Here
``get_user`` reads all of it in one written-out statement, into the per-request caches
Django, ``clinic.roles.roles_of`` and ``clinic.accounts.middleware.VerifiedDeviceMiddleware``
use. What it reads is the database's state when the request begins, as before.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connection

from clinic import roles
from clinic.prepared import PreparedStatement

# Django's own auth tables (the user model is django.contrib.auth's). Written out once: the ORM
# took about a millisecond a request to compile the same UNION. A permission's app label is
# never empty: an empty one marks a role (group) name.
GRANTS_SQL = """
    SELECT ct.app_label, p.codename
      FROM auth_permission p
      JOIN django_content_type ct ON ct.id = p.content_type_id
     WHERE p.id IN (SELECT permission_id FROM auth_user_user_permissions WHERE user_id = %(user)s)
        OR p.id IN (SELECT gp.permission_id
                      FROM auth_group_permissions gp
                      JOIN auth_user_groups ug ON ug.group_id = gp.group_id
                     WHERE ug.user_id = %(user)s)
    UNION ALL
    SELECT '', g.name
      FROM auth_group g
      JOIN auth_user_groups ug ON ug.group_id = g.id
     WHERE ug.user_id = %(user)s
"""


@cache
def user_statement() -> tuple[PreparedStatement, tuple[str, ...]]:
    """The statement ``get_user`` runs (prepared once per connection), and the user fields its
    first columns hold: the user's
    row, then arrays of their grants and role names (GRANTS_SQL's rows, ``app_label.codename``
    or ``.role``), and of the persistent ids of their confirmed devices, in every device model
    installed (``otp_totp.totpdevice/7``, as django_otp names them)."""
    from django_otp import device_classes

    user_model = get_user_model()
    fields = tuple(field.attname for field in user_model._meta.concrete_fields)
    columns = ", ".join(f'u."{user_model._meta.get_field(name).column}"' for name in fields)
    devices = " UNION ALL ".join(
        f"SELECT '{model._meta.app_label}.{model._meta.model_name}/' || d.id"  # noqa: S608 - model names
        f' FROM "{model._meta.db_table}" d WHERE d.user_id = u.id AND d.confirmed'
        for model in device_classes()
    )
    grants = GRANTS_SQL.replace("%(user)s", "u.id")
    sql = f"""
        SELECT {columns},
               ARRAY(SELECT g.app_label || '.' || g.codename FROM ({grants}) g(app_label, codename)),
               ARRAY({devices or "SELECT NULL::text WHERE false"})
          FROM "{user_model._meta.db_table}" u
         WHERE u.id = %s::bigint
    """  # noqa: S608 - the names are the models' own, the user id a parameter
    return PreparedStatement("user", sql), fields


class StaffBackend(ModelBackend):
    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user_id = user_model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        statement, fields = user_statement()
        with connection.cursor() as cursor:
            statement.execute(cursor, [user_id])
            row = cursor.fetchone()
        if row is None:
            return None
        user = user_model.from_db(connection.alias, fields, row[: len(fields)])
        if not self.user_can_authenticate(user):
            return None
        grants, devices = row[len(fields) :]
        if not user.is_superuser:  # a superuser has every permission: Django reads them all if asked
            remember_grants(user, (grant.split(".", 1) for grant in grants))
        # The second factors this user may have passed with (VerifiedDeviceMiddleware).
        user.confirmed_devices = frozenset(devices)
        return user

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            with connection.cursor() as cursor:
                cursor.execute(GRANTS_SQL, {"user": user_obj.pk})
                remember_grants(user_obj, cursor.fetchall())
        return user_obj._perm_cache


def remember_grants(user, grants) -> None:
    """Keep ``(app_label, codename)`` pairs as the user's permissions for the request, and
    ``("", name)`` pairs as their role names."""
    permissions, names = set(), set()
    for app_label, name in grants:
        if app_label:
            permissions.add(f"{app_label}.{name}")
        else:
            names.add(name)
    user._perm_cache = permissions
    roles.remember_roles(user, names)
