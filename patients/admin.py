from django.contrib import admin

from clinic.admin import ClinicModelAdmin
from patients.models import ConsentDocument

# Patients are not in the admin: every change goes through the services (phone numbers in
# E.164, consent timestamps) and every clinical read through the audited pages.


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(ClinicModelAdmin):
    """A new wording is added as a new version; a version in use is never edited."""

    list_display = ("title", "procedure", "version", "effective_from")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
