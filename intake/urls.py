from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("questionnaire/<str:token>/", views.questionnaire, name="questionnaire"),
    path("patients/<int:pk>/intake/<int:questionnaire_pk>/", views.review, name="review"),
    path("patients/<int:pk>/intake/answers/<int:answer_pk>/decide/", views.answer_decide, name="answer_decide"),
]
