"""Django's model backend, with a staff member's permissions and roles read in one statement.

Every page asks for the permissions (the menu, the checks) and the role names (the context
processor): Django's ModelBackend reads the user's own and their groups' permissions in two
queries, and the roles took a third. Here one UNION ALL reads all three, once per request,
into the same per-request caches Django and ``clinic.roles.roles_of`` use.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import Q, Value

from clinic import roles

UserPermission = Permission.user_set.through
GroupPermission = Permission.group_set.through


class StaffBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            granted = Permission.objects.filter(
                Q(pk__in=UserPermission.objects.filter(user_id=user_obj.pk).values("permission_id"))
                | Q(pk__in=GroupPermission.objects.filter(group__user=user_obj.pk).values("permission_id"))
            ).values_list("content_type__app_label", "codename")
            # A permission's app label is never empty: an empty one marks a role (group) name.
            role_names = Group.objects.filter(user=user_obj.pk).annotate(marker=Value("")).values_list("marker", "name")
            permissions, names = set(), set()
            for app_label, name in granted.order_by().union(role_names.order_by(), all=True):
                if app_label:
                    permissions.add(f"{app_label}.{name}")
                else:
                    names.add(name)
            user_obj._perm_cache = permissions
            roles.remember_roles(user_obj, names)
        return user_obj._perm_cache
