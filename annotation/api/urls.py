from __future__ import annotations

from django.urls import path

from annotation.api.checks import CheckDetailView, CheckListView, CheckReportView
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
    path("checks", CheckListView.as_view(), name="api-checks"),
    path("checks/<int:check_id>", CheckDetailView.as_view(), name="api-check-detail"),
    path("checks/<int:check_id>/report", CheckReportView.as_view(), name="api-check-report"),
]
