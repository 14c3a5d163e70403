from django.urls import path

from treatments import views

app_name = "treatments"

P = "patients/<int:patient_pk>/"

urlpatterns = [
    path("formulary/", views.formulary, name="formulary"),
    path("formulary/lots/", views.lot_search, name="lot_search"),
    path("formulary/batches/<int:pk>/", views.batch_trace, name="batch_trace"),
    path("formulary/batches/<int:pk>/patients.csv", views.batch_recipients_csv, name="batch_recipients_csv"),
    path("formulary/batches/<int:pk>/recall/", views.batch_recall, name="batch_recall"),
    path("formulary/batches/<int:pk>/notify/", views.batch_recall_notify, name="batch_recall_notify"),
    path(P, views.timeline, name="timeline"),
    path(P + "consultations/new/", views.consultation_create, name="consultation_create"),
    path(P + "consultations/<int:pk>/", views.consultation_detail, name="consultation_detail"),
    path(P + "consultations/<int:pk>/edit/", views.consultation_edit, name="consultation_edit"),
    path(P + "consultations/<int:pk>/sign/", views.consultation_sign, name="consultation_sign"),
    path(P + "consultations/<int:pk>/addenda/", views.consultation_addendum, name="consultation_addendum"),
    path(P + "consultations/<int:consultation_pk>/plans/new/", views.plan_create, name="plan_create"),
    path(
        P + "consultations/<int:consultation_pk>/plans/safety/", views.plan_safety_preview, name="plan_safety_preview"
    ),
    path(P + "plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path(P + "plans/<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path(P + "plans/<int:pk>/start/", views.plan_activate, name="plan_activate"),
    path(P + "plans/<int:pk>/cancel/", views.plan_cancel, name="plan_cancel"),
    path(P + "plans/<int:pk>/print/", views.plan_print, name="plan_print"),
    path(P + "plans/<int:pk>/aftercare/", views.aftercare_print, name="aftercare_print"),
    path(P + "plans/<int:pk>/photos/", views.photo_compare, name="photo_compare"),
    path(P + "plans/<int:plan_pk>/sessions/new/", views.session_create, name="session_create"),
    path(P + "sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path(P + "sessions/<int:pk>/edit/", views.session_edit, name="session_edit"),
    path(P + "sessions/<int:pk>/sign/", views.session_sign, name="session_sign"),
    path(P + "sessions/<int:pk>/discard/", views.session_discard, name="session_discard"),
    path(P + "sessions/<int:pk>/addenda/", views.session_addendum, name="session_addendum"),
    path(P + "sessions/<int:pk>/ratings/", views.session_rating, name="session_rating"),
    path(P + "sessions/<int:pk>/photos/", views.photo_upload, name="photo_upload"),
    path(P + "photos/<int:pk>/", views.photo_file, name="photo_file"),
    path("recalls/", views.recall_list, name="recall_list"),
    path("recalls/<int:plan_pk>/", views.recall_update, name="recall_update"),
    path("recalls/<int:plan_pk>/propose/", views.recall_propose, name="recall_propose"),
    path("follow-up-tasks/<int:pk>/done/", views.follow_up_task_done, name="follow_up_task_done"),
    path("email/skin-check/<str:token>/", views.public_follow_up, name="public_follow_up"),
]
