from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clinic import health, views

urlpatterns = [
    # The start page: the front desk lands on today's calendar grid (scheduling/home_urls.py).
    path("", include("scheduling.home_urls")),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("audit/", views.audit_list, name="audit_list"),
    path("", include("clinic.accounts.urls")),
    path("patients/", include("patients.urls")),
    path("", include("messaging.urls")),
    path("", include("intake.urls")),
    path("treatments/", include("treatments.urls")),
    path("scheduling/", include("scheduling.urls")),
    path("", include("fhirapi.urls")),
    path("reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
]
