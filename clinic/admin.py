from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from clinic.models import AuditEntry

admin.site.site_header = "Clinic administration"


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail can be searched, never edited (the database refuses it too)."""

    list_display = ("at", "user", "action", "outcome", "object_type", "object_id", "patient_id", "ip_address")
    list_filter = ("action", "outcome", "object_type")
    search_fields = ("user__username", "username", "object_type", "object_id")
    date_hierarchy = "at"
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StaffUserAdmin(UserAdmin):
    """Managers create staff accounts and give them a role (group). Only a superuser may grant
    superuser status or single permissions, so a role stays the unit of access."""

    list_display = ("username", "first_name", "last_name", "email", "is_active", "roles")

    @admin.display(description="Roles")
    def roles(self, user) -> str:
        return ", ".join(group.name for group in user.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions", "last_login", "date_joined"]
        return readonly

    def has_delete_permission(self, request, obj=None):
        # Staff who recorded anything are referenced by clinical records: deactivate instead.
        return False


admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)
