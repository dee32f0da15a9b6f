from __future__ import annotations

from django.urls import path

from annotation.views import security_pages
from annotation.views.adjudication import adjudicate, adjudication_list
from annotation.views.agreement import agreement_page
from annotation.views.alerts import (
    alert_detail,
    alerts_page,
    rule_delete,
    rule_edit,
    rule_new,
)
from annotation.views.explorer import explorer, interaction_detail, send_to_queue
from annotation.views.export_tools import (
    export_preset_create,
    export_preset_remove,
    export_preview_page,
)
from annotation.views.exports import export_detail, export_manifest, exports_page
from annotation.views.home import home
from annotation.views.insight_reports import (
    insights_request,
    insights_retrieval,
    insights_signals,
    insights_slices,
    insights_templates,
    insights_themes,
)
from annotation.views.insights import compare, overview
from annotation.views.lead_guidelines import guideline_preview, guideline_version_page, guidelines
from annotation.views.lead_items import queue_items_page
from annotation.views.lead_project import (
    check_edit,
    check_new,
    check_toggle,
    checks_page,
    member_delete,
    member_role,
    members_page,
)
from annotation.views.lead_queues import (
    hub,
    queue_edit,
    queue_fill_start,
    queue_fill_status,
    queue_new,
    queue_new_preview,
    queue_pause,
    queue_preview,
    queue_progress_page,
    queue_resume,
)
from annotation.views.privacy import privacy_page, retention_runs_partial
from annotation.views.schema_preview import schema_preview
from annotation.views.webhooks import delivery_redeliver_view, webhooks_page
from annotation.views.workspace import (
    annotation_edit,
    item_skip,
    item_skip_undo,
    item_submit,
    my_annotations,
    queue_work,
)

urlpatterns = [
    path("", home, name="home"),
    path("queues/<int:queue_id>/work", queue_work, name="queue-work"),
    path("queues/<int:queue_id>/items/<int:item_id>/submit", item_submit, name="item-submit"),
    path("queues/<int:queue_id>/items/<int:item_id>/skip", item_skip, name="item-skip"),
    path(
        "queues/<int:queue_id>/items/<int:item_id>/skip/undo",
        item_skip_undo,
        name="item-skip-undo",
    ),
    path("queues/<int:queue_id>/mine", my_annotations, name="my-annotations"),
    path("annotations/<int:annotation_id>/edit", annotation_edit, name="annotation-edit"),
    path("lead/queues/<int:queue_id>/agreement", agreement_page, name="lead-agreement"),
    path("lead/queues/<int:queue_id>/adjudication", adjudication_list, name="lead-adjudication"),
    path(
        "lead/queues/<int:queue_id>/items/<int:item_id>/adjudicate",
        adjudicate,
        name="lead-adjudicate",
    ),
    # The lead's pages: queues and guidelines.
    path("lead/", hub, name="lead-hub"),
    path("lead/queues/new", queue_new, name="lead-queue-new"),
    path("lead/queues/new/preview", queue_new_preview, name="lead-queue-new-preview"),
    path("lead/queues/<int:queue_id>/edit", queue_edit, name="lead-queue-edit"),
    path("lead/queues/<int:queue_id>/preview", queue_preview, name="lead-queue-preview"),
    path("lead/queues/<int:queue_id>/pause", queue_pause, name="lead-queue-pause"),
    path("lead/queues/<int:queue_id>/resume", queue_resume, name="lead-queue-resume"),
    path("lead/queues/<int:queue_id>/fill", queue_fill_start, name="lead-queue-fill"),
    path(
        "lead/queues/<int:queue_id>/fills/<int:fill_id>",
        queue_fill_status,
        name="lead-queue-fill-status",
    ),
    path("lead/queues/<int:queue_id>/progress", queue_progress_page, name="lead-queue-progress"),
    path("lead/projects/<slug:name>/guidelines", guidelines, name="lead-guidelines"),
    path(
        "lead/projects/<slug:name>/guidelines/preview",
        guideline_preview,
        name="lead-guideline-preview",
    ),
    path(
        "lead/projects/<slug:name>/guidelines/<int:version>",
        guideline_version_page,
        name="lead-guideline-version",
    ),
]

# Exports.

urlpatterns += [
    path("exports/", exports_page, name="exports"),
    path("exports/<int:export_id>", export_detail, name="export-detail"),
    path("exports/<int:export_id>/manifest.json", export_manifest, name="export-manifest"),
]

# The interaction explorer (insights): the dashboards link every point and bar here.

urlpatterns += [
    path("insights/<slug:name>/interactions", explorer, name="insights-explorer"),
    path(
        "insights/<slug:name>/interactions/<int:pk>",
        interaction_detail,
        name="insights-interaction",
    ),
    path("insights/<slug:name>/interactions/send", send_to_queue, name="insights-explorer-send"),
]

# The insights dashboards: a project's overview (the landing page of its leads and engineers) and
# the comparison of two variants.

urlpatterns += [
    path("insights/<slug:name>/", overview, name="insights-overview"),
    path("insights/<slug:name>/compare", compare, name="insights-compare"),
]

# Insight reports: worst slices, comment themes, prompt templates, retrieval, retraining signal.

urlpatterns += [
    path("insights/<slug:name>/slices", insights_slices, name="insights-slices"),
    path("insights/<slug:name>/themes", insights_themes, name="insights-themes"),
    path("insights/<slug:name>/templates", insights_templates, name="insights-templates"),
    path("insights/<slug:name>/retrieval", insights_retrieval, name="insights-retrieval"),
    path("insights/<slug:name>/signals", insights_signals, name="insights-signals"),
    path(
        "insights/<slug:name>/reports/<slug:kind>",
        insights_request,
        name="insights-report-request",
    ),
]

# Security: a project's audit log and keys (leads), your own API tokens, a form kept across an
# expired session.

urlpatterns += [
    path("lead/projects/<slug:name>/audit", security_pages.audit_page, name="lead-audit"),
    path("lead/projects/<slug:name>/keys", security_pages.keys_page, name="lead-keys"),
    path("lead/projects/<slug:name>/keys/new", security_pages.key_create, name="lead-key-create"),
    path(
        "lead/projects/<slug:name>/keys/<int:key_id>/revoke",
        security_pages.key_revoke,
        name="lead-key-revoke",
    ),
    path(
        "lead/projects/<slug:name>/keys/<int:key_id>/rotate",
        security_pages.key_rotate,
        name="lead-key-rotate",
    ),
    path("account/tokens", security_pages.tokens_page, name="account-tokens"),
    path("account/tokens/new", security_pages.token_create, name="account-token-create"),
    path(
        "account/tokens/<int:token_id>/revoke",
        security_pages.token_revoke,
        name="account-token-revoke",
    ),
    path(
        "account/tokens/<int:token_id>/rotate",
        security_pages.token_rotate,
        name="account-token-rotate",
    ),
    path("account/rescued-form", security_pages.rescued_form, name="form-rescue"),
]

# Alerts: a project's rules and alerts, the rule form (leads), one alert with its chart.

urlpatterns += [
    path("lead/projects/<slug:name>/alerts", alerts_page, name="lead-alerts"),
    path("lead/projects/<slug:name>/alerts/rules/new", rule_new, name="lead-alert-rule-new"),
    path(
        "lead/projects/<slug:name>/alerts/rules/<int:rule_id>/edit",
        rule_edit,
        name="lead-alert-rule-edit",
    ),
    path(
        "lead/projects/<slug:name>/alerts/rules/<int:rule_id>/delete",
        rule_delete,
        name="lead-alert-rule-delete",
    ),
    path(
        "lead/projects/<slug:name>/alerts/<int:alert_id>",
        alert_detail,
        name="lead-alert-detail",
    ),
]

# Export tools: a preview before building, and presets saved per project.

urlpatterns += [
    path("exports/preview", export_preview_page, name="export-preview"),
    path("exports/presets", export_preset_create, name="export-preset-create"),
    path(
        "exports/presets/<int:preset_id>/delete", export_preset_remove, name="export-preset-delete"
    ),
]

# A project's members and automated checks, managed by its leads.

urlpatterns += [
    path("lead/projects/<slug:name>/members", members_page, name="lead-members"),
    path(
        "lead/projects/<slug:name>/members/<int:user_id>/role", member_role, name="lead-member-role"
    ),
    path(
        "lead/projects/<slug:name>/members/<int:user_id>/remove",
        member_delete,
        name="lead-member-remove",
    ),
    path("lead/projects/<slug:name>/checks", checks_page, name="lead-checks"),
    path("lead/projects/<slug:name>/checks/new", check_new, name="lead-check-new"),
    path("lead/projects/<slug:name>/checks/<int:check_id>", check_edit, name="lead-check-edit"),
    path(
        "lead/projects/<slug:name>/checks/<int:check_id>/toggle",
        check_toggle,
        name="lead-check-toggle",
    ),
]

# A queue's items, with their states, reasons and annotations.

urlpatterns += [
    path("lead/queues/<int:queue_id>/items", queue_items_page, name="lead-queue-items"),
]

# The label schema builder's live preview (the annotator's form for a schema as typed).

urlpatterns += [
    path("lead/projects/<slug:name>/schema-preview", schema_preview, name="lead-schema-preview"),
]

# Privacy: a project's privacy mode and retention, with the latest retention runs (leads).

urlpatterns += [
    path("lead/projects/<slug:name>/privacy", privacy_page, name="lead-privacy"),
    path(
        "lead/projects/<slug:name>/privacy/runs", retention_runs_partial, name="lead-privacy-runs"
    ),
]

# Webhooks: a project's targets, triggers and delivery log, with redelivery (leads).

urlpatterns += [
    path("lead/projects/<slug:name>/webhooks", webhooks_page, name="lead-webhooks"),
    path(
        "lead/projects/<slug:name>/webhooks/deliveries/<int:delivery_id>/redeliver",
        delivery_redeliver_view,
        name="lead-webhook-redeliver",
    ),
]
