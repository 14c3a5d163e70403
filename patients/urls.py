from django.urls import path

from patients import views, views_erasure, views_import

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("register/", views.patient_register, name="register"),
    path("<int:pk>/", views.patient_detail, name="detail"),
    path("<int:pk>/edit/", views.patient_edit, name="edit"),
    path("<int:pk>/archive/", views.patient_archive, name="archive"),
    path("<int:pk>/restore/", views.patient_restore, name="restore"),
    path("<int:pk>/delete/", views.patient_delete, name="delete"),
    path("<int:pk>/erase/", views_erasure.patient_erase, name="erase"),
    path("retention/", views_erasure.retention_list, name="retention"),
    path("import/", views_import.import_upload, name="import_upload"),
    path("import/<int:pk>/columns/", views_import.import_mapping, name="import_mapping"),
    path("import/<int:pk>/", views_import.import_preview, name="import_preview"),
    path("import/<int:pk>/run/", views_import.import_run, name="import_run"),
    path("retention/<int:request_pk>/purge/", views_erasure.retention_purge, name="retention_purge"),
    path("<int:pk>/history/", views.medical_history, name="medical_history"),
    path("<int:pk>/history/edit/", views.history_edit, name="history_edit"),
    path("<int:pk>/history/add/", views.history_item_add, name="history_item_add"),
    path("<int:pk>/history/<int:item_pk>/edit/", views.history_item_edit, name="history_item_edit"),
    path("<int:pk>/history/<int:item_pk>/versions/", views.history_item_versions, name="history_item_versions"),
    path("<int:pk>/skin-profile/", views.skin_profile_edit, name="skin_profile_edit"),
    path("<int:pk>/skin-profile/versions/", views.skin_profile_versions, name="skin_profile_versions"),
    path("<int:pk>/consents/add/", views.consent_add, name="consent_add"),
    path("<int:pk>/consents/<int:consent_pk>/", views.consent_detail, name="consent_detail"),
    path("<int:pk>/consents/<int:consent_pk>/print/", views.consent_print, name="consent_print"),
    path("<int:pk>/consents/<int:consent_pk>/signature.png", views.consent_signature, name="consent_signature"),
    path("<int:pk>/consents/<int:consent_pk>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
]
