"""The site's start page, included at "/" by clinic/urls.py: the front desk lands on today's
calendar grid, everyone else on the home page (scheduling.views.home decides)."""

from django.urls import path

from scheduling import views

urlpatterns = [path("", views.home, name="home")]
