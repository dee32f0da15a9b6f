from annotation.models.actions import (
    DeliveryStatus,
    Trigger,
    TriggerReason,
    TriggerRun,
    TriggerRunStatus,
    Webhook,
    WebhookDelivery,
    WebhookFormat,
)
from annotation.models.agreement import AgreementReport, JobStatus
from annotation.models.alerts import (
    Alert,
    AlertMetric,
    AlertRule,
    AlertState,
    ConditionType,
    Direction,
)
from annotation.models.checks import (
    EVALUATOR_TYPES,
    RULE_TYPES,
    Check,
    CheckType,
    Flag,
    Severity,
)
from annotation.models.export_presets import ExportPreset
from annotation.models.exports import AuditEvent, Export, ExportFormat, ExportKind
from annotation.models.feedback import (
    Feedback,
    FeedbackKind,
    FeedbackSource,
    ImplicitEvent,
    RatingScale,
)
from annotation.models.insights import (
    FlagRollup,
    InsightReport,
    InsightReportKind,
    ReviewRollup,
    RollupDirty,
    SliceRollup,
)
from annotation.models.interaction import Interaction
from annotation.models.privacy import ExportedInteraction, RetentionRun
from annotation.models.project import (
    ApiToken,
    KeyScope,
    Membership,
    PrivacyMode,
    Project,
    ProjectKey,
    Role,
)
from annotation.models.review import (
    Adjudication,
    Annotation,
    FillStatus,
    Guideline,
    ItemState,
    Lease,
    LeaseState,
    Queue,
    QueueFill,
    QueueItem,
    QueueState,
)

__all__ = [
    "EVALUATOR_TYPES",
    "RULE_TYPES",
    "ApiToken",
    "Check",
    "CheckType",
    "Feedback",
    "FeedbackKind",
    "FeedbackSource",
    "Flag",
    "ImplicitEvent",
    "Interaction",
    "KeyScope",
    "Membership",
    "Project",
    "ProjectKey",
    "RatingScale",
    "Role",
    "Severity",
]

# Review queues.
__all__ += [
    "Adjudication",
    "Annotation",
    "FillStatus",
    "Guideline",
    "ItemState",
    "Lease",
    "LeaseState",
    "Queue",
    "QueueFill",
    "QueueItem",
    "QueueState",
]

# Agreement and exports.

__all__ += ["AgreementReport", "AuditEvent", "Export", "ExportFormat", "ExportKind", "JobStatus"]


__all__ += ["FlagRollup", "ReviewRollup", "RollupDirty", "SliceRollup"]
__all__ += ["InsightReport", "InsightReportKind"]

# Webhooks and pipeline triggers.

__all__ += ["DeliveryStatus", "Webhook", "WebhookDelivery", "WebhookFormat"]
__all__ += ["Trigger", "TriggerReason", "TriggerRun", "TriggerRunStatus"]

# Saved export requests.

__all__ += ["ExportPreset"]

# Alert rules and their alerts.

__all__ += ["Alert", "AlertMetric", "AlertRule", "AlertState", "ConditionType", "Direction"]


__all__ += ["ExportedInteraction", "PrivacyMode", "RetentionRun"]
