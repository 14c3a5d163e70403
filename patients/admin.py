from django.contrib import admin

from clinic.admin import ClinicAdminForm, ClinicModelAdmin
from patients.models import ConsentDocument

# Patients are not in the admin: every change goes through the services (phone numbers in
# E.164, consent timestamps) and every clinical read through the audited pages.


class ConsentDocumentForm(ClinicAdminForm):
    # A consent text is a document of several pages, not a note (clinic/text.py NOTE_MAX).
    text_limits = {"body": 100_000}


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(ClinicModelAdmin):
    """A new wording is added as a new version; a version in use is never edited."""

    form = ConsentDocumentForm

    list_display = ("title", "procedure", "version", "effective_from")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
