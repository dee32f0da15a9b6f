from __future__ import annotations

from django.urls import path

from annotation.api.agreement import AgreementReportView, QueueAgreementView
from annotation.api.alerts import (
    AlertDetailView,
    AlertListView,
    AlertRuleDetailView,
    AlertRuleListView,
    AlertSeriesView,
)
from annotation.api.audit import AuditListView
from annotation.api.checks import CheckDetailView, CheckListView, CheckReportView
from annotation.api.credentials import (
    KeyListView,
    KeyRevokeView,
    KeyRotateView,
    TokenListView,
    TokenRevokeView,
    TokenRotateView,
)
from annotation.api.export_tools import (
    ExportPreviewView,
    PresetDetailView,
    PresetListView,
)
from annotation.api.exports import (
    ExportDetailView,
    ExportDownloadView,
    ExportListView,
)
from annotation.api.guidelines import GuidelineListView
from annotation.api.ingestion import FeedbackIngestView, InteractionsIngestView
from annotation.api.insight_reports import (
    InsightRetrievalView,
    InsightSignalsView,
    InsightSlicesView,
    InsightTemplatesView,
    InsightThemesView,
)
from annotation.api.interactions import InteractionDetailView
from annotation.api.items import (
    AnnotationDetailView,
    ItemAdjudicationView,
    ItemAnnotationsView,
    ItemSkipView,
)
from annotation.api.metrics import MetricsCompareView, MetricsTimeseriesView
from annotation.api.otlp import OtlpTracesView
from annotation.api.privacy import PrivacyErasureView, PrivacySettingsView
from annotation.api.queues import (
    QueueDetailView,
    QueueFillDetailView,
    QueueFillPreviewView,
    QueueFillView,
    QueueListView,
    QueueNextView,
    QueueStatsView,
)
from annotation.api.triggers import (
    ExportLinkDownloadView,
    TriggerDetailView,
    TriggerListView,
    TriggerRunsView,
)
from annotation.api.webhooks import (
    DeliveryRedeliverView,
    WebhookDeliveriesView,
    WebhookDetailView,
    WebhookListView,
)
from annotation.api.widget import WidgetConfigView, WidgetFeedbackView

urlpatterns = [
    path("interactions", InteractionsIngestView.as_view(), name="api-interactions"),
    path(
        "interactions/<str:request_id>",
        InteractionDetailView.as_view(),
        name="api-interaction-detail",
    ),
    path("feedback", FeedbackIngestView.as_view(), name="api-feedback"),
    path("otlp/v1/traces", OtlpTracesView.as_view(), name="api-otlp-traces"),
    path("widget/config", WidgetConfigView.as_view(), name="api-widget-config"),
    path("metrics/timeseries", MetricsTimeseriesView.as_view(), name="api-metrics-timeseries"),
    path("metrics/compare", MetricsCompareView.as_view(), name="api-metrics-compare"),
    path("insights/slices", InsightSlicesView.as_view(), name="api-insights-slices"),
    path("insights/themes", InsightThemesView.as_view(), name="api-insights-themes"),
    path("insights/templates", InsightTemplatesView.as_view(), name="api-insights-templates"),
    path("insights/retrieval", InsightRetrievalView.as_view(), name="api-insights-retrieval"),
    path("insights/signals", InsightSignalsView.as_view(), name="api-insights-signals"),
    path("widget/feedback", WidgetFeedbackView.as_view(), name="api-widget-feedback"),
    path("checks", CheckListView.as_view(), name="api-checks"),
    path("checks/<int:check_id>", CheckDetailView.as_view(), name="api-check-detail"),
    path("checks/<int:check_id>/report", CheckReportView.as_view(), name="api-check-report"),
]

# Review queues.
urlpatterns += [
    path("guidelines", GuidelineListView.as_view(), name="api-guidelines"),
    path("queues", QueueListView.as_view(), name="api-queues"),
    path("queues/<int:queue_id>", QueueDetailView.as_view(), name="api-queue-detail"),
    path("queues/<int:queue_id>/fill", QueueFillView.as_view(), name="api-queue-fill"),
    path(
        "queues/<int:queue_id>/fill/preview",
        QueueFillPreviewView.as_view(),
        name="api-queue-fill-preview",
    ),
    path(
        "queues/<int:queue_id>/fill/<int:fill_id>",
        QueueFillDetailView.as_view(),
        name="api-queue-fill-detail",
    ),
    path("queues/<int:queue_id>/stats", QueueStatsView.as_view(), name="api-queue-stats"),
    path("queues/<int:queue_id>/next", QueueNextView.as_view(), name="api-queue-next"),
    path(
        "items/<int:item_id>/annotations", ItemAnnotationsView.as_view(), name="api-item-annotate"
    ),
    path("items/<int:item_id>/skip", ItemSkipView.as_view(), name="api-item-skip"),
    path(
        "items/<int:item_id>/adjudication",
        ItemAdjudicationView.as_view(),
        name="api-item-adjudicate",
    ),
    path("annotations/<int:annotation_id>", AnnotationDetailView.as_view(), name="api-annotation"),
    path(
        "queues/<int:queue_id>/agreement", QueueAgreementView.as_view(), name="api-queue-agreement"
    ),
    path("agreement/<int:report_id>", AgreementReportView.as_view(), name="api-agreement"),
]

# Exports.

urlpatterns += [
    path("exports", ExportListView.as_view(), name="api-exports"),
    path("exports/<int:export_id>", ExportDetailView.as_view(), name="api-export-detail"),
    path(
        "exports/<int:export_id>/download",
        ExportDownloadView.as_view(),
        name="api-export-download",
    ),
]

# Privacy: erasure of one end user; the project's privacy mode and retention (leads).

urlpatterns += [
    path("privacy/erase", PrivacyErasureView.as_view(), name="api-privacy-erase"),
    path("privacy/settings", PrivacySettingsView.as_view(), name="api-privacy-settings"),
]

# Alert rules and their alerts.

urlpatterns += [
    path("alert-rules", AlertRuleListView.as_view(), name="api-alert-rules"),
    path("alert-rules/<int:rule_id>", AlertRuleDetailView.as_view(), name="api-alert-rule-detail"),
    path("alerts", AlertListView.as_view(), name="api-alerts"),
    path("alerts/<int:alert_id>", AlertDetailView.as_view(), name="api-alert-detail"),
    path("alerts/<int:alert_id>/series", AlertSeriesView.as_view(), name="api-alert-series"),
]

# Webhooks and pipeline triggers.

urlpatterns += [
    path("webhooks", WebhookListView.as_view(), name="api-webhooks"),
    path("webhooks/<int:webhook_id>", WebhookDetailView.as_view(), name="api-webhook-detail"),
    path(
        "webhooks/<int:webhook_id>/deliveries",
        WebhookDeliveriesView.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver",
        DeliveryRedeliverView.as_view(),
        name="api-webhook-redeliver",
    ),
    path("triggers", TriggerListView.as_view(), name="api-triggers"),
    path("triggers/<int:trigger_id>", TriggerDetailView.as_view(), name="api-trigger-detail"),
    path("triggers/<int:trigger_id>/runs", TriggerRunsView.as_view(), name="api-trigger-runs"),
    path(
        "exports/<int:export_id>/link",
        ExportLinkDownloadView.as_view(),
        name="api-export-link-download",
    ),
]

# The audit log (leads); project keys (leads) and your own user tokens.

urlpatterns += [
    path("audit", AuditListView.as_view(), name="api-audit"),
    path("keys", KeyListView.as_view(), name="api-keys"),
    path("keys/<int:key_id>/revoke", KeyRevokeView.as_view(), name="api-key-revoke"),
    path("keys/<int:key_id>/rotate", KeyRotateView.as_view(), name="api-key-rotate"),
    path("tokens", TokenListView.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>/revoke", TokenRevokeView.as_view(), name="api-token-revoke"),
    path("tokens/<int:token_id>/rotate", TokenRotateView.as_view(), name="api-token-rotate"),
]

# Export previews and presets.

urlpatterns += [
    path("exports/preview", ExportPreviewView.as_view(), name="api-export-preview"),
    path("export-presets", PresetListView.as_view(), name="api-export-presets"),
    path("export-presets/<int:preset_id>", PresetDetailView.as_view(), name="api-export-preset"),
]
