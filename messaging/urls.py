from django.urls import path

from messaging import views

app_name = "messaging"

urlpatterns = [
    path("communications/", views.communications, name="communications"),
    path("communications/<int:pk>/retry/", views.message_retry, name="retry"),
    path("email/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
