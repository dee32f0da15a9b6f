from __future__ import annotations

from django.urls import path

from annotation.views.home import home

urlpatterns = [
    path("", home, name="home"),
]
