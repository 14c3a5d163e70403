from django.urls import path

from scheduling import views
from scheduling.waitlist import views as waitlist_views

app_name = "scheduling"

urlpatterns = [
    path("", views.calendar_day, name="day"),
    path("today/", views.today, name="today"),
    path("week/<int:pk>/", views.calendar_week, name="week"),
    path("rooms/", views.calendar_rooms, name="rooms"),
    path("grid/book/", views.grid_book, name="grid_book"),
    path("find/", views.slot_finder, name="find"),
    path("book/", views.book, name="book"),
    path("book/patient/", views.book_choose_patient, name="book_choose_patient"),
    path("appointments/<int:pk>/", views.appointment_detail, name="appointment_detail"),
    path("appointments/<int:pk>/move/", views.appointment_move, name="appointment_move"),
    path("appointments/<int:pk>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("appointments/<int:pk>/confirm/", views.appointment_confirm, name="appointment_confirm"),
    path("appointments/<int:pk>/check-in/", views.appointment_check_in, name="appointment_check_in"),
    path("appointments/<int:pk>/complete/", views.appointment_complete, name="appointment_complete"),
    path("appointments/<int:pk>/no-show/", views.appointment_no_show, name="appointment_no_show"),
    path("appointments/<int:pk>/calendar.ics", views.appointment_ics_download, name="appointment_ics"),
    path("plans/<int:plan_pk>/course/", views.course_book, name="course_book"),
    path("practitioners/<int:pk>/feed/regenerate/", views.feed_regenerate, name="feed_regenerate"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
    path("email/confirm/<str:token>/", views.public_confirm, name="public_confirm"),
    path("email/cancel/<str:token>/", views.public_cancel, name="public_cancel"),
    path("waitlist/", waitlist_views.waitlist, name="waitlist"),
    path("waitlist/add/", waitlist_views.waitlist_add, name="waitlist_add"),
    path("waitlist/<int:pk>/remove/", waitlist_views.waitlist_remove, name="waitlist_remove"),
    path("email/waitlist/<str:token>/", waitlist_views.waitlist_claim, name="waitlist_claim"),
    path("email/maintenance/<str:token>/", views.public_recall_book, name="public_recall_book"),
]
