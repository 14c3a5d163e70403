from django.urls import path

from clinic.accounts import views

app_name = "accounts"

urlpatterns = [
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/invite/", views.staff_invite, name="staff_invite"),
    path("staff/<int:pk>/", views.staff_detail, name="staff_detail"),
    path("staff/<int:pk>/roles/", views.staff_roles, name="staff_roles"),
    path("staff/<int:pk>/deactivate/", views.staff_deactivate, name="staff_deactivate"),
    path("staff/<int:pk>/reactivate/", views.staff_reactivate, name="staff_reactivate"),
    path("staff/<int:pk>/unlock/", views.staff_unlock, name="staff_unlock"),
    path("staff/<int:pk>/reset-2fa/", views.staff_reset_second_factor, name="staff_reset_2fa"),
    path("staff/<int:pk>/invite-again/", views.staff_invite_again, name="staff_invite_again"),
    path("accounts/invitation/<uidb64>/<token>/", views.InvitationView.as_view(), name="invitation"),
    path("accounts/2fa/", views.second_factor, name="second_factor"),
    path("accounts/2fa/enrol/", views.enrol, name="enrol"),
    path("accounts/2fa/verify/", views.verify, name="verify"),
    path("accounts/2fa/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("accounts/2fa/recovery-codes/new/", views.recovery_codes_renew, name="recovery_codes_renew"),
    path("accounts/2fa/remove/", views.second_factor_remove, name="second_factor_remove"),
]
