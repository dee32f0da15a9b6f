from __future__ import annotations

from django.urls import path

from annotation.api.ingestion import FeedbackIngestView, InteractionsIngestView
from annotation.api.interactions import InteractionDetailView

urlpatterns = [
    path("interactions", InteractionsIngestView.as_view(), name="api-interactions"),
    path(
        "interactions/<str:request_id>",
        InteractionDetailView.as_view(),
        name="api-interaction-detail",
    ),
    path("feedback", FeedbackIngestView.as_view(), name="api-feedback"),
]
