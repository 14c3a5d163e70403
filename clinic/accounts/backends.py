"""Django's model backend, with a staff member's permissions and roles read in one statement.

Every page asks for the permissions (the menu, the checks) and the role names (the context
processor): Django's ModelBackend reads the user's own and their groups' permissions in two
queries, and the roles took a third. Here one UNION ALL reads all three, once per request,
into the same per-request caches Django and ``clinic.roles.roles_of`` use.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.db import connection

from clinic import roles

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


class StaffBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            permissions, names = set(), set()
            with connection.cursor() as cursor:
                cursor.execute(GRANTS_SQL, {"user": user_obj.pk})
                for app_label, name in cursor.fetchall():
                    if app_label:
                        permissions.add(f"{app_label}.{name}")
                    else:
                        names.add(name)
            user_obj._perm_cache = permissions
            roles.remember_roles(user_obj, names)
        return user_obj._perm_cache
