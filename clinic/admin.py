from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.shortcuts import get_object_or_404
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.forms import TextRulesMixin
from clinic.models import AuditEntry

admin.site.site_header = "Clinic administration"


class SafeChangeList(ChangeList):
    """Django's change list answers 500 to some hand-typed filters: a NUL character (which
    PostgreSQL refuses in a string) or a year too large for a date. Such a filter is treated
    like any other bad one: the admin drops the filters and says so (``?e=1``)."""

    def get_filters(self, request):
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                raise IncorrectLookupParameters("A filter contains a NUL character.")
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            # e.g. ?at__year=99999999999999999999, or the year after 9999.
            raise IncorrectLookupParameters(error) from error

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        if self.filter_params or self.query:
            # Some lookups fail only when the query is built or run: ?recalled_at__year=99999
            # (past what a date holds), ?name__regex=( (PostgreSQL refuses the pattern). Try it
            # once, in a savepoint, so that such a filter is dropped like any other bad one.
            try:
                with transaction.atomic(using=queryset.db):
                    queryset.exists()
            except (ValueError, OverflowError, ValidationError, DatabaseError) as error:
                raise IncorrectLookupParameters(error) from error
        return queryset


class SafeChangeListMixin:
    def get_changelist(self, request, **kwargs):
        return SafeChangeList

    def get_search_results(self, request, queryset, search_term):
        # Also the autocomplete's search (?term=), which has no change list to guard it.
        if "\x00" in search_term:
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)


class ClinicAdminForm(TextRulesMixin, forms.ModelForm):
    """The admin's forms follow the same text rules as the clinic's pages (clinic/text.py)."""


class SafeAutocompleteMixin:
    """Django's autocomplete widget looks the posted value up to show it again, and a value
    that is not an id (``user=abc``) made that lookup a 500 instead of the form's error.
    Values the field cannot read are left out of the redisplay."""

    def optgroups(self, name, value, attr=None):
        readable = []
        for item in value:
            try:
                self.choices.field.to_python(item)
            except ValidationError:
                continue
            readable.append(item)
        return super().optgroups(name, readable, attr)


class SafeAutocompleteSelect(SafeAutocompleteMixin, AutocompleteSelect):
    pass


class SafeAutocompleteSelectMultiple(SafeAutocompleteMixin, AutocompleteSelectMultiple):
    pass


class ClinicFormsMixin:
    """Admin forms (the model's and its inlines') with the clinic's text rules and relation
    pickers that answer bad input with a form error."""

    form = ClinicAdminForm

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelectMultiple(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ClinicModelAdmin(ClinicFormsMixin, SafeChangeListMixin, admin.ModelAdmin):
    """The base of every ModelAdmin of the clinic (tests/clinic/test_admin_filters.py checks)."""


class ClinicInlineFormSet(forms.BaseInlineFormSet):
    """Django leaves the parent out of an inline row's unique checks against the database, so
    a new row duplicating a saved one (``batch_product_lot``: the lot of another batch of the
    product) reached the database as an IntegrityError. Here each row's constraints are
    checked with the parent included: a form error."""

    def clean(self):
        super().clean()
        if self.instance.pk is None:
            return  # a new parent has no saved rows; rows among themselves are checked by Django
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form) or not hasattr(form, "cleaned_data"):
                continue
            exclude = {name for name in form._get_validation_exclusions() if name != self.fk.name}
            try:
                form.instance.validate_constraints(exclude=exclude)
            except ValidationError as error:
                form.add_error(None, error.messages)


class ClinicTabularInline(ClinicFormsMixin, admin.TabularInline):
    """The base of every inline of the clinic."""

    formset = ClinicInlineFormSet


@admin.register(AuditEntry)
class AuditEntryAdmin(ClinicModelAdmin):
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


class SuperuserOnlyAdmin:
    """Accounts and roles change in the staff pages (clinic/accounts/), which keep a manager
    from raising their own access; here only a superuser may change them. Managers still
    reach the rest of Administration (formulary, practitioners, consent texts)."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False


class StaffUserAdmin(SuperuserOnlyAdmin, SafeChangeListMixin, UserAdmin):
    """For superusers. A manager may only read accounts here (hidden from the index): the
    practitioner form's user picker reads them. Nobody deletes an account (staff who recorded
    anything are referenced by clinical records): deactivate it on the staff page."""

    list_display = ("username", "first_name", "last_name", "email", "is_active", "roles")

    @admin.display(description="Roles")
    def roles(self, user) -> str:
        return ", ".join(group.name for group in user.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")


class RoleAdmin(SuperuserOnlyAdmin, SafeChangeListMixin, GroupAdmin):
    """Roles are declared by migrations (clinic/roles.py); a superuser may inspect them."""


admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, RoleAdmin)


class SecondFactorDeviceAdmin(SuperuserOnlyAdmin, SafeChangeListMixin):
    """Second-factor devices hold secrets: only superusers see them, through the clinic's safe
    change list. (Managers reset a person's second factor from the staff pages.)"""


class TOTPAdmin(SecondFactorDeviceAdmin, TOTPDeviceAdmin):
    def config_view(self, request, pk):
        return super().config_view(request, self._existing_pk(request, pk))

    def qrcode_view(self, request, pk):
        return super().qrcode_view(request, self._existing_pk(request, pk))

    def _existing_pk(self, request, pk):
        # django-otp looks the device up with .get(): an unknown id would be a 500, not a 404.
        if not self.has_module_permission(request):
            raise PermissionDenied
        return get_object_or_404(TOTPDevice, pk=pk).pk


class StaticAdmin(SecondFactorDeviceAdmin, StaticDeviceAdmin):
    pass


admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, TOTPAdmin)
admin.site.unregister(StaticDevice)
admin.site.register(StaticDevice, StaticAdmin)
