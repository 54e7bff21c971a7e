from django.urls import path

from hosts import views

app_name = "hosts"

urlpatterns = [
    path("", views.inventory, name="inventory"),
]
