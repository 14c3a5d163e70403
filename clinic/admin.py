from django.contrib import admin

from clinic.models import AuditEntry

admin.site.site_header = "Clinic administration"


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail can be searched, never edited (the database refuses it too)."""

    list_display = ("at", "user", "action", "object_type", "object_id", "patient_id", "ip_address")
    list_filter = ("action", "object_type")
    search_fields = ("user__username", "object_type", "object_id")
    date_hierarchy = "at"
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
