from django.contrib import admin

from clinic.admin import ClinicModelAdmin, ClinicTabularInline
from scheduling.models import (
    Appointment,
    AppointmentChange,
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    TimeOff,
    WorkingHours,
)

# Managers set the clinic up here. Appointments are read-only: every change goes through the
# services (validation, history, patient emails), i.e. the scheduling pages.


class WorkingHoursInline(ClinicTabularInline):
    model = WorkingHours
    extra = 0


class TimeOffInline(ClinicTabularInline):
    model = TimeOff
    extra = 0


@admin.register(Practitioner)
class PractitionerAdmin(ClinicModelAdmin):
    list_display = ("name", "is_active", "default_room", "colour")
    list_filter = ("is_active",)
    list_select_related = ("user", "default_room")
    autocomplete_fields = ("user",)
    inlines = [WorkingHoursInline, TimeOffInline]


@admin.register(Room)
class RoomAdmin(ClinicModelAdmin):
    list_display = ("name", "is_active")


@admin.register(AppointmentType)
class AppointmentTypeAdmin(ClinicModelAdmin):
    list_display = ("name", "duration_minutes", "buffer_minutes", "colour", "is_course_session", "is_active")


@admin.register(ClinicClosure)
class ClinicClosureAdmin(ClinicModelAdmin):
    list_display = ("reason", "starts_at", "ends_at")


@admin.register(TimeOff)
class TimeOffAdmin(ClinicModelAdmin):
    list_display = ("practitioner", "starts_at", "ends_at", "reason")
    list_select_related = ("practitioner__user",)


class AppointmentChangeInline(ClinicTabularInline):
    model = AppointmentChange
    extra = 0
    can_delete = False
    readonly_fields = [field.name for field in AppointmentChange._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(ClinicModelAdmin):
    list_display = ("starts_at", "patient", "practitioner", "appointment_type", "room", "status")
    list_filter = ("status", "practitioner", "appointment_type")
    list_select_related = ("patient", "practitioner__user", "appointment_type", "room")
    date_hierarchy = "starts_at"
    inlines = [AppointmentChangeInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Appointment._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
