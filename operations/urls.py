"""URLs of the operations pages (namespace `operations`): list, plan, detail, live partials,
approve, cancel, answer."""

from django.urls import path

from operations import views

app_name = "operations"

urlpatterns = [
    path("", views.operation_list, name="list"),
    path("live/", views.list_live, name="list-live"),
    path("new/", views.plan, name="plan"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/live/", views.live, name="live"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/answer/", views.answer, name="answer"),
]
